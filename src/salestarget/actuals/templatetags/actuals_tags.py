"""Filters for the actuals pages: exact money (1,234.56, never rounded to 万 as on dashboards),
a batch's totals by kind, and the names of batch kinds, record kinds, sources, import fields and
opportunity stages in the user's language."""

from django import template
from django.db.models import Sum
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from salestarget.actuals.forms import MASTER_FIELD_LABELS, MASTER_LABELS, STAGES
from salestarget.actuals.importers import FIELD_LABELS
from salestarget.actuals.models import Fact
from salestarget.core.money import format_exact
from salestarget.metrics.models import FactKind
from salestarget.metrics.selectors import company_currency
from salestarget.org.permissions import Action, scope_of

register = template.Library()


@register.filter
def yuan(fen) -> str:
    """Stored minor units in full in the company's currency, without symbol (the column header
    names it): 1,234.56; yen without decimals. (The name is historical.)"""
    return format_exact(fen, company_currency())


@register.simple_tag(takes_context=True)
def actuals_abilities(context) -> dict:
    """Which actuals tabs the user gets: import files, file a daily report, see the team's."""
    scope = scope_of(context["request"].user)
    view = scope.reach(Action.VIEW)
    return {
        "import": scope.can(Action.IMPORT),
        "daily": bool(scope.reach(Action.SUBMIT).person_id),
        "team": view.everything or bool(view.paths),
    }


@register.filter
def record_kind(key: str) -> str:
    """'products' -> 产品: a kind of record (ImportResult.created's keys), in the user's language."""
    return str(MASTER_LABELS.get(key, key))


@register.filter
def field_name(name: str) -> str:
    """'date' -> 日期: an import field, as the column-mapping form calls it."""
    label = FIELD_LABELS.get(name) or MASTER_FIELD_LABELS.get(name)
    return gettext(label) if label else name


@register.filter
def batch_kind(kind: str) -> str:
    """What a batch holds, in the user's language: a fact kind (订单行) or a kind of record (人员)."""
    if kind in FactKind.values:
        return str(FactKind(kind).label)
    if kind == "demo":  # the demo company's one batch holds every kind of fact
        return str(_SOURCES["demo"])
    return record_kind(kind)


# Sources the app itself writes; any other is the name a user gave their system ("ERP").
_SOURCES = {
    "file": _("File upload"),
    "master": _("Master data import"),
    "daily": _("Daily report"),
    "api": _("API"),
    "demo": _("Demo data"),
}


@register.filter
def batch_source(source: str) -> str:
    """'daily' -> 日报 (daily): the words, and the key that the facts filter and the API use."""
    label = _SOURCES.get(source)
    return f"{label} ({source})" if label else source


_STAGE_LABELS = dict(STAGES)


@register.filter
def stage_label(stage: str) -> str:
    """'qualified' -> 已确认: the daily report's stage names; a company's own stage as written."""
    label = _STAGE_LABELS.get(stage or "")
    return str(label) if label else (stage or "")


# What the amount of a fact kind is called: a batch's total is of one kind, never a sum of kinds.
_AMOUNT_LABELS = {
    FactKind.ORDER: _("Order amount"),
    FactKind.COLLECTION: _("Collection amount"),
    FactKind.OPPORTUNITY: _("Opportunity amount"),
    FactKind.VISIT: _("Visit amount"),
}


@register.simple_tag
def batch_totals(batch) -> list[dict]:
    """A fact batch's amount per kind: [{"kind", "label", "amount" (fen)}].

    A batch of one kind keeps its total (``amount_total``, the sum of its facts, kept after a
    rollback removes them); the demo company's batch holds every kind, so its facts are summed
    per kind. Master-data and rejected batches have no amount; nor has a batch of visits
    without amounts."""
    if batch.source == "master" or batch.status == batch.Status.REJECTED:
        return []
    if batch.kind in FactKind.values:
        sums = [(batch.kind, batch.amount_total)]
    else:
        rows = Fact.objects.filter(batch=batch).values("kind").annotate(total=Sum("amount")).order_by()
        by_kind = {row["kind"]: row["total"] or 0 for row in rows}
        sums = [(kind, by_kind[kind]) for kind in FactKind.values if kind in by_kind]
    return [
        {"kind": kind, "label": str(_AMOUNT_LABELS[kind]), "amount": amount}
        for kind, amount in sums
        if amount or kind != FactKind.VISIT
    ]
