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
    # Labels run along their lines so that nearby targets do not print over each other.
    marks = [_mark(rec.recommended, _("Recommended"))]
    if rec.existing_target is not None:
        marks.append(_mark(rec.existing_target, _("Current target")))
    if rec.last_year_actual > 0:
        marks.append(_mark(rec.rule_of_thumb, rec.rule_of_thumb_label))
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


def _mark(x: int, label: str) -> dict:
    return {"xAxis": x, "label": {"formatter": label, "position": "insideEndTop"}}
