"""Exact money in lists of facts and batches: 1,234.56, never rounded to 万 as on dashboards."""

from django import template

from salestarget.accounts.scoping import scope_of
from salestarget.actuals.importers import yuan as _yuan

register = template.Library()


@register.filter
def yuan(fen) -> str:
    if fen is None or fen == "":
        return "—"
    whole, _dot, cents = _yuan(int(fen)).partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}.{cents}"


@register.simple_tag(takes_context=True)
def scope_role(context) -> str:
    """admin, manager, rep or none: which actuals tabs the user gets."""
    return scope_of(context["request"].user).role
