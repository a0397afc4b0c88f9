from django.conf import settings

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
    }
