"""The home page's numbers: this year so far against last year and the target, from rollups
credited by each metric's rule (sales, collections)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from salestarget.actuals import selectors as actuals
from salestarget.engine.calendar import year_before
from salestarget.engine.rounding import largest_remainder
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import OrgUnit, Person
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.selectors import year_target_for


@dataclass
class HomeSummary:
    scope_label: str
    fiscal_year: int
    year_label: str
    as_of: dt.date
    sales_ytd: int
    sales_last_ytd: int
    collections_ytd: int
    year_target: int | None
    time_progress: float
    year_start: dt.date | None = None
    year_end: dt.date | None = None
    counts_working_days: bool = True
    months: list[str] = field(default_factory=list)
    sales_by_month: list[int] = field(default_factory=list)
    last_year_by_month: list[int] = field(default_factory=list)
    by_region: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ring(self) -> list[tuple[str, int]]:
        """The regions a ring can draw: those with net sales this year."""
        return [(name, v) for name, v in self.by_region if v > 0]

    @property
    def net_refunds(self) -> list[tuple[str, int]]:
        """Regions whose refunds outweigh their sales this year: named under the ring, which
        cannot draw them (a legend entry with a colour and no slice read as a share)."""
        return [(name, v) for name, v in self.by_region if v < 0]

    @property
    def growth(self) -> float | None:
        return self.sales_ytd / self.sales_last_ytd - 1 if self.sales_last_ytd else None

    @property
    def achievement(self) -> float | None:
        return self.sales_ytd / self.year_target if self.year_target else None

    @property
    def collection_rate(self) -> float | None:
        return self.collections_ytd / self.sales_ytd if self.sales_ytd else None


def scope_label(user) -> str:
    reach = scope_of(user).reach(Action.VIEW)
    if reach.everything:
        return _("Whole company")
    if reach.paths:
        return "、".join(OrgUnit.objects.filter(path__in=reach.paths).values_list("name", flat=True))
    if reach.person_id:
        return Person.objects.get(pk=reach.person_id).name
    return ""


def home_summary(user, today: dt.date | None = None) -> HomeSummary:
    """Figures up to yesterday: today's numbers are still coming in."""
    today = today or timezone.localdate()
    as_of = today - dt.timedelta(days=1)
    cal = fiscal_calendar()
    year = cal.period_of("year", as_of)
    last_year = year.shift(-1)
    last_as_of = year_before(as_of)
    lang = "en" if (get_language() or "zh").startswith("en") else "zh"

    sales, collections = actuals.metric("sales"), actuals.metric("collections")
    this_months = actuals.by_month(user, sales, year.start, as_of)
    last_months = actuals.by_month(user, sales, last_year.start, last_year.end)
    months = cal.periods("month", year)
    return HomeSummary(
        scope_label=scope_label(user),
        fiscal_year=year.start.year,
        year_label=year.label(lang),
        as_of=as_of,
        sales_ytd=sum(this_months.values()),
        sales_last_ytd=actuals.total(user, sales, last_year.start, last_as_of),
        collections_ytd=actuals.total(user, collections, year.start, as_of),
        year_target=year_target_for(user, "sales", year.start.year),
        time_progress=cal.time_progress(year, as_of),
        year_start=year.start,
        year_end=year.end,
        counts_working_days=cal.working_days,
        months=[m.label(lang) for m in months],
        sales_by_month=[this_months.get(m.start, 0) if m.start <= as_of else None for m in months],
        last_year_by_month=[last_months.get(m.shift(-12).start, 0) for m in months],
        by_region=[
            (name or _("Unassigned"), v) for name, v in actuals.by_top_region(user, sales, year.start, as_of)
        ],
    )


def charts(summary: HomeSummary) -> dict:
    """ECharts options (plain JSON; formatters named per charts.js's convention)."""
    this_year, last_year = _("This year"), _("Last year")
    monthly = {
        "tooltip": {"trigger": "axis", "valueFormatter": "cny"},
        "legend": {"data": [this_year, last_year], "top": 0},
        "grid": {"left": 8, "right": 8, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": summary.months},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "cny"}},
        "series": [
            {
                "name": this_year,
                "type": "bar",
                "data": summary.sales_by_month,
                "itemStyle": {"color": "#0d6efd"},
            },
            {
                "name": last_year,
                "type": "line",
                "data": summary.last_year_by_month,
                "smooth": True,
                "itemStyle": {"color": "#adb5bd"},
            },
        ],
    }
    regions = {
        # One-decimal shares that add up to 100.0% (largest remainder), shown in the legend and,
        # on hover, in the middle of the ring: outer labels were cut off in the narrow card and
        # ran into the legend on a phone.
        "stShares": region_shares(summary.ring),
        "tooltip": {"trigger": "item", "valueFormatter": "cny"},
        # A plain legend wraps onto more lines instead of hiding regions behind page arrows.
        "legend": {"bottom": 0, "left": "center", "itemGap": 12, "formatter": "share"},
        "series": [
            {
                "type": "pie",
                "radius": ["36%", "60%"],
                "center": ["50%", "38%"],
                "avoidLabelOverlap": True,
                "data": [{"name": n, "value": v} for n, v in summary.ring],
                "label": {"show": False, "position": "center", "formatter": "share"},
                "emphasis": {"label": {"show": True, "fontSize": 14, "fontWeight": "bold"}},
                "labelLine": {"show": False},
            }
        ],
    }
    return {"monthly": monthly, "regions": regions}


def region_shares(by_region: list[tuple[str, int]]) -> dict[str, str]:
    """Each region's share of the year's sales as "35.2%", one decimal, adding up to exactly
    100.0%."""
    amounts = [int(v) for _name, v in by_region]
    if not sum(amounts):
        return {}
    tenths = largest_remainder(1000, amounts)
    return {name: f"{t / 10:.1f}%" for (name, _v), t in zip(by_region, tenths, strict=True)}
