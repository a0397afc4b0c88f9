from django.conf import settings
from django.utils.translation import gettext_lazy as _

from salestarget.accounts.scoping import scope_of
from salestarget.web.navigation import nav_items

ROLE_LABELS = {"admin": _("Administrator"), "manager": _("Manager"), "rep": _("Sales rep")}


def product(request):
    """What base.html needs on every page: the version and the signed-in user's role."""
    user = getattr(request, "user", None)
    role = scope_of(user).role
    return {
        "SALESTARGET_VERSION": settings.SALESTARGET_VERSION,
        "user_role": ROLE_LABELS.get(role, ""),
        "nav_items": nav_items() if role != "none" or getattr(user, "is_authenticated", False) else [],
    }
