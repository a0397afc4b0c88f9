"""The recommendation page's charts: ECharts options (plain JSON) built from a Recommendation."""

from __future__ import annotations

from django.utils.translation import gettext as _

from salestarget.metrics.models import Metric
from salestarget.targets.labels import lang, month_label
from salestarget.targets.recommendations import Recommendation

# Months of history shown on the chart before the forecast starts.
CHART_HISTORY_MONTHS = 24


def charts(rec: Recommendation) -> dict:
    """History with the forecast band, and the S-curve of the chance of reaching each target.

    The bands are drawn as stacked areas (lower bound invisible, width on top) because
    ECharts has no native interval series; values stay fen and use the "cny" formatter.
    """
    language = lang()
    money = rec.metric.aggregation in (Metric.Aggregation.SUM_AMOUNT, Metric.Aggregation.SUM_PROFIT)
    fmt = "cny" if money else None
    shown = rec.history_months[-CHART_HISTORY_MONTHS:]
    hist = rec.history[-CHART_HISTORY_MONTHS:]
    labels = [month_label(m, language) for m in shown + rec.forecast_months]
    pad = [None] * len(shown)
    fc = rec.forecast
    mean = [int(v) for v in fc.mean]
    joined = [None] * (len(shown) - 1) + ([hist[-1]] if hist else []) + mean

    def band(level: int, color: str) -> list[dict]:
        lo = [int(v) for v in fc.lo[level]]
        width = [int(h) - int(lo_) for h, lo_ in zip(fc.hi[level], fc.lo[level], strict=True)]
        stack = f"band{level}"
        return [
            {
                "name": f"{level}%",
                "type": "line",
                "data": pad + lo,
                "stack": stack,
                "symbol": "none",
                "lineStyle": {"opacity": 0},
                "itemStyle": {"color": color},
                "tooltip": {"show": False},
            },
            {
                "name": f"{level}%",
                "type": "line",
                "data": pad + width,
                "stack": stack,
                "symbol": "none",
                "lineStyle": {"opacity": 0},
                "itemStyle": {"color": color},
                "areaStyle": {"color": color},
                "tooltip": {"show": False},
            },
        ]

    history_name, forecast_name = _("Actual"), _("Forecast")
    forecast_chart = {
        "tooltip": {"trigger": "axis", **({"valueFormatter": fmt} if fmt else {})},
        "legend": {"data": [history_name, forecast_name, "80%", "95%"], "top": 0},
        # The last month's label is centred on the right edge (no boundary gap): leave it room.
        "grid": {"left": 8, "right": 36, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": labels, "boundaryGap": False},
        "yAxis": {"type": "value", **({"axisLabel": {"formatter": fmt}} if fmt else {})},
        "series": [
            *band(95, "rgba(13,110,253,0.10)"),
            *band(80, "rgba(13,110,253,0.22)"),
            {
                "name": history_name,
                "type": "line",
                "data": hist + [None] * len(mean),
                "itemStyle": {"color": "#212529"},
            },
            {
                "name": forecast_name,
                "type": "line",
                "data": joined,
                "lineStyle": {"type": "dashed"},
                "itemStyle": {"color": "#0d6efd"},
            },
        ],
    }
    lines = [(rec.recommended, _("Recommended"))]
    if rec.existing_target is not None:
        lines.append((rec.existing_target, _("Current target")))
    if rec.last_year_actual > 0:
        lines.append((rec.rule_of_thumb, rec.rule_of_thumb_label))
    marks = _marks(lines, rec.probability_of)
    probability_chart = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 24, "top": 24, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "value",
            "scale": True,
            "axisLabel": {"hideOverlap": True, **({"formatter": fmt} if fmt else {})},
        },
        "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {
                "name": _("Chance of reaching"),
                "type": "line",
                "smooth": True,
                "symbol": "none",
                "data": [[t, round(q * 100, 1)] for t, q in rec.curve()],
                "itemStyle": {"color": "#198754"},
                "markLine": {"symbol": "none", "data": marks, "lineStyle": {"type": "dashed"}},
            }
        ],
    }
    return {"forecast": forecast_chart, "probability": probability_chart}


def _marks(lines: list[tuple[int, str]], chance) -> list[dict]:
    """The vertical mark lines of the chance curve, each label placed where neither the curve nor
    a nearby line's label is (QA: "推荐" and "2025年 + 10%" printed over each other).

    Labels run along their lines. The curve falls from left to right, so below it where a line
    meets it high (a chance of 50% or more) the bottom of the chart is free, and where it meets
    it low the top is. Of the labels at the same end, taken from left to right, the first goes on
    the left of its line and the second on the right: two close lines' labels point away from
    each other. A third at the same end goes to the middle of its line, on the left.
    """
    marks = [{} for _line in lines]
    taken = {"Start": 0, "End": 0}
    for i in sorted(range(len(lines)), key=lambda i: lines[i][0]):
        x, label = lines[i]
        end = "Start" if chance(x) >= 0.5 else "End"
        n = taken[end]
        taken[end] += 1
        # Along an upright line ECharts' "Top" side is its left, "Bottom" its right.
        position = ("inside" + end + "Top", "inside" + end + "Bottom")[n] if n < 2 else "insideMiddleTop"
        marks[i] = {"xAxis": x, "label": {"formatter": label, "position": position}}
    return marks
