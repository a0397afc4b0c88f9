"""Where a recommendation becomes a target: ``adopt_recommendation``, the one seam for planning.

A target written anywhere but a plan's cells would be a second, unreviewed source of truth, so
adopting writes only through the plan services: the whole organisation's figure becomes the
total of a draft plan of the metric and period (``services.do_set_plan_total``); any other
scope's target comes from decomposing that total, so for those the answer is the figure, to be
used there. The page's "Use as target" action and the ``targets:adopt`` view stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from salestarget.core.money import format_exact
from salestarget.engine.calendar import Period
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import company_currency
from salestarget.org.models import OrgUnit, Person
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.labels import lang
from salestarget.targets.models import Plan
from salestarget.targets.plain import metric_amount
from salestarget.targets.scope import TargetScope
from salestarget.targets.services import do_set_plan_total, may_plan


@dataclass(frozen=True)
class Adoption:
    """What became of an adopted figure: ``saved`` once plans exist, and a message for the user."""

    saved: bool
    message: str


def may_adopt(user, scope: TargetScope) -> bool:
    """Whether ``user`` may set targets for ``scope``: their change reach covers its unit subtree
    and its person (a scope of neither is the whole company: everything)."""
    reach = scope_of(user).reach(Action.CHANGE)
    if reach.everything:
        return True
    if reach.nothing or (scope.unit is None and scope.person is None):
        return False
    if scope.unit is not None and not OrgUnit.objects.filter(reach.units_q(""), pk=scope.unit.pk).exists():
        return False
    return (
        scope.person is None
        or Person.objects.within(reach, Action.CHANGE).filter(pk=scope.person.pk).exists()
    )


def adopt_recommendation(user, scope: TargetScope, period: Period, metric: Metric, amount: int) -> Adoption:
    """Make ``amount`` (the metric's minor units) the target of ``scope`` in ``period``.

    Raises PermissionDenied when the user may not set targets for the scope. For the whole
    organisation with a draft plan of the metric and period, the figure becomes the plan's
    total (``services.do_set_plan_total``, typed: the figure as the page showed it). Other
    scopes get their targets from the plan's decomposition, so nothing is written for them:
    the message says so and repeats the figure exactly.
    """
    if not may_adopt(user, scope):
        raise PermissionDenied(_("You may not set targets for %(scope)s.") % {"scope": scope.label()})
    figures = {
        "scope": scope.label(),
        "period": period.label(lang()),
        "metric": metric.name,
        "amount": metric_amount(amount, metric),
        "exact": _exact(amount, metric),
    }
    plan = _draft_plan(scope, period, metric)
    if plan is not None and may_plan(user):
        do_set_plan_total(user, plan, method=Plan.TotalMethod.TYPED, amount=amount)
        return Adoption(
            saved=True,
            message=_("The total of the draft plan “%(plan)s” is now %(amount)s (exactly %(exact)s).")
            % {**figures, "plan": plan.name},
        )
    return Adoption(
        saved=False,
        message=_(
            "Nothing was saved: a target for %(scope)s comes from decomposing a plan's total; only the "
            "whole organisation's figure goes into a draft plan. The figure to copy for %(scope)s, "
            "%(period)s (%(metric)s): %(amount)s (exactly %(exact)s)."
        )
        % figures,
    )


def _draft_plan(scope: TargetScope, period: Period, metric: Metric) -> Plan | None:
    """The newest draft plan of ``metric`` over exactly ``period``, when ``scope`` is the whole
    organisation (nothing chosen, or the single top unit and nothing else)."""
    whole = scope.person is None and scope.product is None and scope.region is None
    if not whole or (scope.unit is not None and scope.unit.parent_id is not None):
        return None
    plans = Plan.objects.filter(
        metric=metric, period_kind=period.kind, period_start=period.start, status=Plan.Status.DRAFT
    )
    return plans.order_by("-pk").first()


def _exact(amount: int, metric: Metric) -> str:
    """Every digit, for copying: money in the currency's minor units, a count in its own."""
    if metric.aggregation in (Metric.Aggregation.SUM_AMOUNT, Metric.Aggregation.SUM_PROFIT):
        return format_exact(amount, company_currency())
    return f"{Decimal(int(amount)).scaleb(-metric.decimals):,.{metric.decimals}f}"
