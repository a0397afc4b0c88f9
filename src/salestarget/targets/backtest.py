"""How well recommendations would have worked: a past fiscal year replayed for every rep or
every unit at one level of what the user may see (engine.backtest)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.utils import timezone
from django.utils.translation import gettext_lazy

from salestarget.core.errors import DomainError
from salestarget.engine.backtest import BacktestReport, backtest_year
from salestarget.engine.calendar import Period
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import OrgUnit
from salestarget.targets import history
from salestarget.targets.labels import lang
from salestarget.targets.scope import TargetScope, selectable_people, selectable_units

PROBABILITIES = (0.5, 0.8)


@dataclass
class BacktestResult:
    """A replayed past year for every node at one level, with names for the keys."""

    year: int
    level: str
    period: Period
    metric: Metric
    report: BacktestReport
    names: dict[str, str]

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
                "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
                "metric": self.metric.code,
            }
        )
        return data


def backtest(
    user, year: int, level: str = "rep", *, metric: str = "sales", today: dt.date | None = None
) -> BacktestResult:
    """Replay fiscal ``year``: what would have been recommended for each node, and how it went.

    ``level`` is "rep" or a unit depth ("0" the company, "1" its regions, ...); a unit's
    history is its whole subtree.  Only nodes the user may see are replayed.
    """
    today = today or timezone.localdate()
    cal = fiscal_calendar()
    the_metric = history.metric_for(metric)
    value_field = history.value_field(the_metric)
    period = cal.year(year)
    if period.end >= today.replace(day=1):
        raise DomainError(gettext_lazy("Choose a fiscal year that has ended."))
    rows = history.rollups(user, the_metric, TargetScope())
    end_month = period.end.replace(day=1)
    # No sales before the year's end gives an empty report rather than an error: "nothing to
    # replay" is a valid answer for a new team.
    start = history.first_month(rows, end_month, history.HISTORY_MONTHS) or end_month
    months = history.months(start, end_month)

    if level == "rep":
        people = selectable_people(user)
        names = {str(pk): name for pk, name in people.values_list("pk", "name")}
        sums = history.monthly(
            rows.filter(person_id__in=people.values("pk")), value_field, start, end_month, "person_id"
        )
        keyed = {(str(k), m): v for (k, m), v in sums.items()}
    else:
        if not level.isdigit():
            raise DomainError(gettext_lazy("The level is 'rep' or a unit depth such as 1."))
        depth = int(level)
        units = list(selectable_units(user).filter(depth=depth).values_list("pk", "name", "path"))
        if not units:
            raise DomainError(gettext_lazy("You manage no units at that level."))
        names = {str(pk): name for pk, name, _path in units}
        sums = history.monthly(rows, value_field, start, end_month, "unit_id")
        paths = dict(OrgUnit.objects.filter(pk__in={k for k, _m in sums}).values_list("pk", "path"))
        keyed = {}
        for (unit_id, m), v in sums.items():
            parts = paths.get(unit_id, "").strip("/").split("/")
            if len(parts) > depth and parts[depth] in names:
                keyed[(parts[depth], m)] = keyed.get((parts[depth], m), 0) + v
    histories = {}
    for key in sorted({k for k, _m in keyed}, key=lambda k: names.get(k, k)):
        y = np.array([keyed.get((key, m), 0) for m in months], dtype=float)
        seen = next(i for i, m in enumerate(months) if (key, m) in keyed)
        y[:seen] = np.nan
        histories[key] = y
    wd = history.working_days(cal, months)
    everything = history.monthly(rows, value_field, start, end_month)
    reference = np.array([everything.get((None, m), 0) for m in months], dtype=float)
    report = backtest_year(
        histories,
        holdout=12,
        working_days=dict.fromkeys(histories, wd),
        references=dict.fromkeys(histories, reference),
        probabilities=PROBABILITIES,
    )
    return BacktestResult(
        year=year, level=level, period=period, metric=the_metric, report=report, names=names
    )
