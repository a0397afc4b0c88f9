"""Reads of targets, scoped like everything else."""

from __future__ import annotations

from django.db.models import Sum

from salestarget.accounts.scoping import scope_of
from salestarget.org.models import OrgUnit
from salestarget.targets.models import Plan, TargetCell


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
    scope = scope_of(user)
    cells = published_cells(metric_code, fiscal_year).filter(
        period_kind=TargetCell.PeriodKind.YEAR, product__isnull=True, region__isnull=True
    )
    if scope.is_admin:
        roots = OrgUnit.objects.filter(parent__isnull=True)
        cells = cells.filter(unit__in=roots, person__isnull=True)
    elif scope.managed_paths:
        cells = cells.filter(unit__path__in=scope.managed_paths, person__isnull=True)
    elif scope.person_id:
        cells = cells.filter(person_id=scope.person_id, unit__isnull=True)
    else:
        return None
    return cells.aggregate(v=Sum("target"))["v"]
