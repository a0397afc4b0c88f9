"""Reads of targets, scoped like everything else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Sum

from salestarget.org.models import OrgUnit
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.models import Plan, TargetCell

if TYPE_CHECKING:
    from salestarget.engine.calendar import Period
    from salestarget.targets.scope import TargetScope


def published_cells(metric_code: str, fiscal_year: int):
    plan = (
        Plan.objects.filter(metric__code=metric_code, fiscal_year=fiscal_year, status=Plan.Status.PUBLISHED)
        .order_by("-pk")
        .first()
    )
    if plan is None:
        return TargetCell.objects.none()
    return TargetCell.objects.filter(scenario__plan=plan, scenario__is_primary=True)


def year_target_for(user, metric_code: str, fiscal_year: int) -> int | None:
    """The whole-year target of what the user looks after: the company for an admin, the
    managed units for a manager, their own for a rep (None when no published plan has one)."""
    reach = scope_of(user).reach(Action.VIEW)
    cells = published_cells(metric_code, fiscal_year).filter(
        period_kind=TargetCell.PeriodKind.YEAR, product__isnull=True, region__isnull=True
    )
    if reach.everything:
        roots = OrgUnit.objects.filter(parent__isnull=True)
        cells = cells.filter(unit__in=roots, person__isnull=True)
    elif reach.paths:
        cells = cells.filter(unit__path__in=reach.paths, person__isnull=True)
    elif reach.person_id:
        cells = cells.filter(person_id=reach.person_id, unit__isnull=True)
    else:
        return None
    return cells.aggregate(v=Sum("target"))["v"]


def existing_target(user, metric_code: str, scope: TargetScope, period: Period) -> int | None:
    """The published target of exactly this scope and period, if the user may see it."""
    cells = published_cells(metric_code, period.fiscal_year).filter(
        pk__in=TargetCell.objects.restrict(user).values("pk"),
        period_kind=period.kind,
        period_start=period.start,
    )
    for name, obj in (("unit", scope.unit), ("product", scope.product), ("region", scope.region)):
        cells = cells.filter(**{name: obj}) if obj is not None else cells.filter(**{f"{name}__isnull": True})
    if scope.person is not None:
        cells = cells.filter(person=scope.person)
    elif scope.unit is not None:
        cells = cells.filter(person__isnull=True)
    else:
        return None
    return cells.aggregate(v=Sum("target"))["v"]
