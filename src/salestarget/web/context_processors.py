from django.conf import settings

from salestarget.accounts.scoping import scope_of


def product(request):
    """What base.html needs on every page: the version and the signed-in user's role."""
    user = getattr(request, "user", None)
    return {"SALESTARGET_VERSION": settings.SALESTARGET_VERSION, "user_role": scope_of(user).role}
