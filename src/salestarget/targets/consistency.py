"""What must hold before a plan is submitted: no negative target, and every owner's months add
up to its period's target.

The writers keep both (the decomposition, the grid's totals, imports, reconcile), but a plan is
also edited by hand over weeks, and QA published one holding a −100 target and a year 2,116,217
above its months. A parent against its children is the grid's red cell, not a refusal: an
over-assignment, a rounding unit and a vacancy (which holds no cells) each let them differ.
"""

from __future__ import annotations

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from salestarget.targets.models import Plan, TargetCell

OWNER = ("unit_id", "person_id", "product_id", "region_id", "segment_id")


def problems(plan: Plan, *, limit: int = 5) -> tuple[list[str], int]:
    """The first ``limit`` problems of the plan's primary scenario, in words, and how many there are."""
    scenario = plan.scenarios.filter(is_primary=True).first()
    if scenario is None:
        return [], 0
    cells = TargetCell.objects.filter(scenario=scenario)
    found: list[tuple] = []
    negative = Q(target__lt=0) | Q(floor__lt=0) | Q(stretch__lt=0)
    found += [("negative", c) for c in cells.filter(negative).values(*OWNER, "period_kind", "period_start")]
    months = {
        tuple(row[k] for k in OWNER): row["target"]
        for row in cells.filter(period_kind="month").values(*OWNER).annotate(target=Sum("target"))
    }
    whole = cells.filter(period_kind=plan.period_kind, period_start=plan.period_start).values(
        *OWNER, "target"
    )
    for row in whole:
        summed = months.get(tuple(row[k] for k in OWNER))
        if summed is not None and row["target"] is not None and summed != row["target"]:
            found.append(("months", {**row, "months": summed}))
    return [_describe(plan, kind, row) for kind, row in found[:limit]], len(found)


def _describe(plan: Plan, kind: str, row: dict) -> str:
    from salestarget.actuals.summary import as_decimal
    from salestarget.catalog.models import Product
    from salestarget.org.models import OrgUnit, Person

    owner = (
        Person.objects.filter(pk=row["person_id"]).values_list("name", flat=True).first()
        if row["person_id"]
        else OrgUnit.objects.filter(pk=row["unit_id"]).values_list("name", flat=True).first()
    ) or "?"
    if row["product_id"]:
        owner += " · " + (
            Product.objects.filter(pk=row["product_id"]).values_list("name", flat=True).first() or "?"
        )
    if kind == "negative":
        return _("%(owner)s has a negative target (%(period)s).") % {
            "owner": owner,
            "period": row["period_start"].isoformat(),
        }
    return _("%(owner)s: the months add up to %(months)s, the period's target is %(total)s.") % {
        "owner": owner,
        "months": f"{as_decimal(row['months'], plan.metric):,}",
        "total": f"{as_decimal(row['target'], plan.metric):,}",
    }
