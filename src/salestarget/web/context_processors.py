from django.conf import settings
from django.utils.translation import get_language

from salestarget.core.money import DEFAULT_CURRENCY
from salestarget.metrics.selectors import company_currency
from salestarget.org.permissions import ROLE_LABELS, scope_of
from salestarget.web.navigation import nav_items


def product(request):
    """What base.html needs on every page: the version and the signed-in user's role."""
    user = getattr(request, "user", None)
    scope = scope_of(user)
    return {
        "SALESTARGET_VERSION": settings.SALESTARGET_VERSION,
        "user_role": ROLE_LABELS.get(scope.role, ""),
        "nav_items": nav_items(scope) if getattr(user, "is_authenticated", False) else [],
        "currency": _currency_for_pages(),
    }


def _currency_for_pages() -> dict:
    """What charts.js needs to show amounts as the ``cny`` filter does (base.html puts it on
    <html>): the code, the symbol to show (none for renminbi in Chinese) and the decimals."""
    cur, lang = company_currency(), get_language() or "zh"
    zh_cny = lang.startswith("zh") and cur.code == DEFAULT_CURRENCY
    return {"code": cur.code, "symbol": "" if zh_cny else cur.symbol(lang), "digits": cur.digits}
