"""Exact money in lists of facts and batches: 1,234.56, never rounded to 万 as on dashboards."""

from django import template

from salestarget.accounts.scoping import scope_of
from salestarget.actuals.importers import yuan as _yuan
from salestarget.catalog.models import Customer, Product, Region
from salestarget.metrics.models import FactKind
from salestarget.org.models import OrgUnit, Person, TerritoryAssignment

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


# The keys of ImportResult.created: the kinds of record an import makes.
_RECORD_KINDS = {
    "people": Person,
    "units": OrgUnit,
    "territories": TerritoryAssignment,
    "products": Product,
    "regions": Region,
    "customers": Customer,
}


@register.filter
def record_kind(key: str) -> str:
    """'products' -> 产品: the plural name of the kind of record, in the user's language."""
    model = _RECORD_KINDS.get(key)
    return str(model._meta.verbose_name_plural) if model else key


@register.filter
def batch_kind(kind: str) -> str:
    """What a batch holds, in the user's language: a fact kind (订单行) or a kind of record (人员)."""
    if kind in FactKind.values:
        return str(FactKind(kind).label)
    return record_kind(kind)
