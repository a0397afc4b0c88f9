"""How well recommendations would have worked: a past fiscal year replayed for every rep or
every unit at one level of what the user may see (engine.backtest)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from salestarget.actuals.models import DailyRollup
from salestarget.core.errors import DomainError
from salestarget.engine.backtest import BacktestReport, backtest_year
from salestarget.engine.calendar import Period, add_months
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import history
from salestarget.targets.labels import lang
from salestarget.targets.scope import TargetScope, backtest_depth, selectable_people, selectable_units

PROBABILITIES = (0.5, 0.8)
YEAR_MONTHS = 12
# A year whose actuals stop earlier is compared over its first months only; with fewer than
# this many months, the comparison says too little and the request is refused.
MIN_MONTHS = 3


@dataclass
class BacktestResult:
    """A replayed past year for every node at one level, with names for the keys."""

    year: int
    level: str
    period: Period
    metric: Metric
    report: BacktestReport
    names: dict[str, str]
    depth: int | None = None
    months_compared: int = YEAR_MONTHS
    last_month: dt.date | None = None

    @property
    def complete(self) -> bool:
        """Whether the whole year was compared (False: the actuals stop before its end)."""
        return self.months_compared >= YEAR_MONTHS

    @property
    def note(self) -> str | None:
        """What a partial comparison covers, in the active language (None for a whole year)."""
        if self.complete or self.last_month is None:
            return None
        return gettext(
            "The data end in %(last)s, so only the first %(months)d months of fiscal year %(year)d "
            "are compared: forecasts, targets and the rule of thumb cover those months only."
        ) % {"last": _month_label(self.last_month), "months": self.months_compared, "year": self.year}

    @property
    def period_label(self) -> str:
        return self.period.label(lang())

    def rows(self) -> list[dict]:
        out = []
        for s in self.report.series:
            row = s.to_dict()
            row["name"] = self.names.get(s.key, s.key)
            out.append(row)
        return out

    def to_dict(self) -> dict:
        data = self.report.to_dict()
        data["series"] = self.rows()
        data["skipped"] = [{"key": k, "name": self.names.get(k, k)} for k in self.report.skipped]
        data.update(
            {
                "year": self.year,
                "level": self.level,
                "depth": self.depth,
                "months_compared": self.months_compared,
                "complete": self.complete,
                "last_month": None if self.last_month is None else self.last_month.isoformat(),
                "note": self.note,
                "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
                "metric": self.metric.code,
            }
        )
        return data


def backtest(
    user, year: int, level: str = "rep", *, metric: str = "sales", today: dt.date | None = None
) -> BacktestResult:
    """Replay fiscal ``year``: what would have been recommended for each node, and how it went.

    ``level`` is "rep", "unit" (the lowest units the user may see), "company", "region" or a
    unit depth ("0" the company, "1" its regions, ...); a unit's history is its whole subtree.
    Only nodes the user may see are replayed.

    Where the actuals stop before the year's end (the data's last month), the forecast is
    compared over the months that have actuals only (``months_compared``, ``complete``); with
    fewer than ``MIN_MONTHS`` of them the request is refused.
    """
    today = today or timezone.localdate()
    cal = fiscal_calendar()
    the_metric = history.metric_for(metric)
    value_field = history.value_field(the_metric)
    depth = backtest_depth(user, level)
    period = cal.year(year)
    if period.end >= today.replace(day=1):
        raise DomainError(gettext_lazy("Choose a fiscal year that has ended."))
    year_end = period.end.replace(day=1)
    end_month = year_end
    last_month = _last_month_with_data(the_metric)
    months_compared = YEAR_MONTHS
    if last_month is not None and last_month < year_end:
        months_compared = len(history.months(period.start.replace(day=1), last_month))
        if months_compared < MIN_MONTHS:
            raise DomainError(
                gettext_lazy(
                    "Fiscal year %(year)d cannot be replayed: the data end in %(last)s, fewer than "
                    "%(min)d months into it."
                ),
                year=year,
                last=_month_label(last_month),
                min=MIN_MONTHS,
            )
        end_month = last_month
    # No sales before the year's end gives an empty report rather than an error: "nothing to
    # replay" is a valid answer for a new team.
    rows = history.rollups(user, the_metric, TargetScope(), *history.window(end_month))
    start = history.first_month(rows, end_month, history.HISTORY_MONTHS) or end_month
    months = history.months(start, end_month)

    if depth is None:
        people = selectable_people(user)
        names = {str(pk): name for pk, name in people.values_list("pk", "name")}
        credited = history.credited(user, the_metric, TargetScope()).filter(person_id__in=people.values("pk"))
        sums = history.monthly(credited, value_field, start, end_month, "person_id")
        keyed = {(str(k), m): v for (k, m), v in sums.items()}
    else:
        units = list(selectable_units(user).filter(depth=depth))
        if not units:
            raise DomainError(gettext_lazy("You manage no units at that level."))
        names = {str(u.pk): u.name for u in units}
        keyed = {}
        # Unit by unit: under territory credit two people of one unit may hold the same sale,
        # which the unit counts once.
        for u in units:
            scoped = history.rollups(user, the_metric, TargetScope(unit=u), start, end_month)
            for (_none, m), v in history.monthly(scoped, value_field, start, end_month).items():
                keyed[(str(u.pk), m)] = v
    histories = {}
    for key in sorted({k for k, _m in keyed}, key=lambda k: names.get(k, k)):
        y = np.array([keyed.get((key, m), 0) for m in months], dtype=float)
        seen = next(i for i, m in enumerate(months) if (key, m) in keyed)
        y[:seen] = np.nan
        histories[key] = y
    # The replayed year is known here, so one exposure array covers history and held-out months.
    wd, _future, _cadence = history.exposure(cal, rows, months, [])
    everything = history.monthly(rows, value_field, start, end_month)
    reference = np.array([everything.get((None, m), 0) for m in months], dtype=float)
    report = backtest_year(
        histories,
        holdout=months_compared,
        working_days=dict.fromkeys(histories, wd),
        references=dict.fromkeys(histories, reference),
        probabilities=PROBABILITIES,
    )
    return BacktestResult(
        year=year,
        level=level,
        period=period,
        metric=the_metric,
        report=report,
        names=names,
        depth=depth,
        months_compared=months_compared,
        last_month=last_month if months_compared < YEAR_MONTHS else None,
    )


def _last_month_with_data(metric: Metric) -> dt.date | None:
    """The month of the latest fact of ``metric`` in the whole data set: how far the imported
    actuals reach. Not the user's own rows: a rep without sales since June still has actuals
    (zeros) for the rest of the year."""
    facts = DailyRollup.objects.filter(kind=metric.fact_kind)
    if metric.stage:
        facts = facts.filter(stage=metric.stage)
    latest = facts.aggregate(d=Max("day"))["d"]
    return None if latest is None else history.month_start(latest)


def _month_label(month: dt.date) -> str:
    return Period("month", month, add_months(month, 1) - dt.timedelta(days=1)).label(lang())
