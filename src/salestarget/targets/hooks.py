"""Where a recommendation becomes a target: ``adopt_recommendation``, the one seam for planning.

Target plans (issue 13) do not exist yet, and a target written anywhere else would be a second,
unreviewed source of truth beside the plans' cells. So until then adopting stores nothing: it
checks that the user may set targets for the scope and answers with the figure, to copy into
the plan once plans exist. The planning work replaces the body of ``adopt_recommendation``
(writing the figure into a draft plan's cell, through its own service) and keeps its signature
and its ``Adoption`` answer, so the page's "Use as target" action and the ``targets:adopt``
view stay as they are.
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
from salestarget.targets.plain import metric_amount
from salestarget.targets.scope import TargetScope


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

    Raises PermissionDenied when the user may not set targets for the scope. Until target
    plans exist (issue 13, which replaces this body), nothing is written: the message says
    so and repeats the figure exactly, to be copied into the plan.
    """
    if not may_adopt(user, scope):
        raise PermissionDenied(_("You may not set targets for %(scope)s.") % {"scope": scope.label()})
    return Adoption(
        saved=False,
        message=_(
            "Nothing was saved: targets are set in target plans, which come with the planning "
            "feature. The figure to copy for %(scope)s, %(period)s (%(metric)s): %(amount)s "
            "(exactly %(exact)s)."
        )
        % {
            "scope": scope.label(),
            "period": period.label(lang()),
            "metric": metric.name,
            "amount": metric_amount(amount, metric),
            "exact": _exact(amount, metric),
        },
    )


def _exact(amount: int, metric: Metric) -> str:
    """Every digit, for copying: money in the currency's minor units, a count in its own."""
    if metric.aggregation in (Metric.Aggregation.SUM_AMOUNT, Metric.Aggregation.SUM_PROFIT):
        return format_exact(amount, company_currency())
    return f"{Decimal(int(amount)).scaleb(-metric.decimals):,.{metric.decimals}f}"
