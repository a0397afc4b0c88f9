"""The SMART panel of a plan: is its target specific, measurable, achievable, relevant and
time-bound? Each letter is a plain sentence and a verdict (True, False, or None when it cannot
be judged yet), read from the plan and the data, never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from salestarget.actuals.models import DailyRollup
from salestarget.metrics.models import FactKind, Metric
from salestarget.targets.labels import lang
from salestarget.targets.models import Plan, TargetCell


@dataclass(frozen=True)
class SmartItem:
    letter: str
    label: str
    ok: bool | None
    text: str


def company_total(plan: Plan) -> TargetCell | None:
    """The primary scenario's cell for the whole organisation over the plan's period."""
    return (
        TargetCell.objects.filter(plan.total_cell, scenario__plan=plan, scenario__is_primary=True)
        .select_related("unit")
        .first()
    )


def smart(plan: Plan, chance: float | None, *, chance_hidden: bool = False) -> list[SmartItem]:
    """``chance``: the probability of reaching the company total according to the
    recommendation (None when there is no total or no recommendation). ``chance_hidden``: the
    viewer may not see the whole company's history the chance rests on, so none is shown."""
    from salestarget.targets.services import plan_period

    period = plan_period(plan)
    total = company_total(plan)
    dims = [_("the organisation")]
    dims += [
        word
        for on, word in (
            (plan.by_product, _("product lines")),
            (plan.by_region, _("sales regions")),
            (plan.by_segment, _("customer segments")),
        )
        if on
    ]
    items = [
        SmartItem(
            "S",
            _("Specific"),
            True,
            _("%(metric)s for %(period)s, by %(dims)s.")
            % {
                "metric": plan.metric.name,
                "period": period.label(lang()),
                "dims": "、".join(dims) if lang() == "zh" else ", ".join(dims),
            },
        ),
        _measurable(plan.metric),
    ]
    if total is None:
        items.append(
            SmartItem(
                "A", _("Achievable"), None, _("Set the company total to see the chance of reaching it.")
            )
        )
    elif chance_hidden:
        items.append(SmartItem("A", _("Achievable"), None, chance_not_shown()))
    elif chance is None:
        items.append(
            SmartItem(
                "A",
                _("Achievable"),
                None,
                _("No recommendation for this metric: the chance cannot be judged from history."),
            )
        )
    else:
        items.append(
            SmartItem(
                "A",
                _("Achievable"),
                chance >= 0.5,
                _("Chance of reaching the company total, judged from the history: %(chance)s.")
                % {"chance": f"{chance:.0%}"}
                + ("" if chance >= 0.5 else " " + _("Below 50%: a stretch, not a commitment.")),
            )
        )
    items.append(_relevant(plan, total))
    items.append(
        SmartItem(
            "T",
            _("Time-bound"),
            True,
            _("From %(start)s to %(end)s.")
            % {"start": plan.period_start.isoformat(), "end": plan.period_end.isoformat()},
        )
    )
    return items


def chance_not_shown() -> str:
    """Why a viewer who sees part of the company gets no chance of the company's total."""
    return _("Not shown: the chance rests on the history of the whole company, which you may not see.")


def _measurable(metric: Metric) -> SmartItem:
    sources = (
        [metric.numerator, metric.denominator] if metric.aggregation == Metric.Aggregation.RATIO else [metric]
    )
    kinds = {m.fact_kind for m in sources if m is not None}
    have = [k for k in kinds if DailyRollup.objects.filter(kind=k).exists()]
    names = "、".join(str(FactKind(k).label) for k in sorted(kinds))
    if len(have) == len(kinds):
        return SmartItem(
            "M", _("Measurable"), True, _("Measured from the imported facts (%(kinds)s).") % {"kinds": names}
        )
    return SmartItem(
        "M",
        _("Measurable"),
        False,
        _("Nothing has been imported yet (%(kinds)s): import it to track this plan.") % {"kinds": names},
    )


def _relevant(plan: Plan, total: TargetCell | None) -> SmartItem:
    if plan.period_kind != Plan.PeriodKind.YEAR:
        year_plan = (
            Plan.objects.filter(
                metric=plan.metric, fiscal_year=plan.fiscal_year, period_kind=Plan.PeriodKind.YEAR
            )
            .exclude(status=Plan.Status.CLOSED)
            .order_by("-pk")
            .first()
        )
        if year_plan is None:
            return SmartItem(
                "R", _("Relevant"), False, _("No plan for the whole fiscal year of this metric to belong to.")
            )
        return SmartItem(
            "R", _("Relevant"), True, _("Part of the year's plan “%(plan)s”.") % {"plan": year_plan.name}
        )
    if total is None:
        return SmartItem(
            "R", _("Relevant"), None, _("Linked to the organisation once the company total is set.")
        )
    return SmartItem(
        "R",
        _("Relevant"),
        True,
        _("Set on %(unit)s, the top of the organisation.") % {"unit": total.unit.name},
    )
