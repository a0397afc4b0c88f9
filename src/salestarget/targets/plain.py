"""A recommendation in a director's words: how far off the method was lately, and what the
chance of a target means.

Directors decide from these sentences; MAE, WAPE and the models' names mean something to an
analyst only, so the page keeps them in its technical details and the API in its technical
fields. Amounts are the metric's minor units, shown with 万/亿 (zh) or K/M (en) by
``core.money.format_amount``; nothing here is a float of money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from django.utils.translation import gettext as _

from salestarget.core.money import format_amount, format_percent
from salestarget.engine.rounding import round_half_up
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import company_currency
from salestarget.targets.labels import lang
from salestarget.targets.recommendations import Recommendation


@dataclass(frozen=True)
class PlainSummary:
    accuracy: str
    chance: str
    # The figures the accuracy sentence states: the backtest's windows and the months each
    # one totals, the chosen model's mean error on such a total (minor units) and that error
    # as a share of the totals (None if unknown).
    months: int = 0
    mae: int | None = None
    wape: float | None = None
    windows: int = 0
    # The engine's names of the models the page mentions, for the technical details' glossary.
    models: tuple[str, ...] = ()

    def __str__(self) -> str:
        return _sentences(self.accuracy, self.chance)


def summary(rec: Recommendation) -> PlainSummary:
    """The two sentences a director reads first: the method's recent error and the chance."""
    windows, months, mae, wape = _accuracy(rec)
    if mae is None:
        accuracy = _("There is too little history yet to check how far off this method was.")
    else:
        accuracy = _accuracy_sentence(rec, windows, months, mae, wape)
    models = [rec.model, *rec.accuracy, *(r["model"] for r in (rec.bottom_up.reps if rec.bottom_up else []))]
    chance = chance_sentence(rec.p, rec.recommended, rec.metric)
    return PlainSummary(accuracy, chance, months, mae, wape, windows, tuple(dict.fromkeys(models)))


def _accuracy(rec: Recommendation) -> tuple[int, int, int | None, float | None]:
    """(windows, months, MAE, WAPE) of the chosen model's backtest on period totals; MAE None
    when there was none."""
    scores = rec.accuracy.get(rec.model) or {}
    mae = scores.get("mae")
    windows, months = rec.forecast.backtest_windows, rec.forecast.backtest_window_months
    if mae is None or not math.isfinite(mae) or windows == 0:
        return 0, 0, None, None
    wape = scores.get("wape")
    share = wape if wape is not None and math.isfinite(wape) else None
    return windows, months, round_half_up(Fraction(mae)), share


def _accuracy_sentence(rec: Recommendation, windows: int, months: int, mae: int, wape: float | None) -> str:
    """How far off the method was on totals like the one recommended (issue 17: a target is a
    total, so the method is judged on totals, not months)."""
    values = {
        "windows": windows,
        "months": months,
        "amount": metric_amount(mae, rec.metric),
        "metric": _metric_word(rec.metric.name),
    }
    if wape is not None:
        values["share"] = _share(wape)
        text = _(
            "Replayed on %(windows)s recent periods of %(months)s months, this method missed the "
            "period's total by %(amount)s on average (about %(share)s of the %(metric)s)."
        )
    else:
        text = _(
            "Replayed on %(windows)s recent periods of %(months)s months, this method missed the "
            "period's total by %(amount)s on average."
        )
    return _sentences(text % values, _reached_sentence(rec))


def _reached_sentence(rec: Recommendation) -> str:
    """How the chance asked for fared in those replays ("" when they cannot say)."""
    reached, windows = rec.forecast.backtest_reached(rec.p)
    if not windows:
        return ""
    return _(
        "In those replays a target with a %(p)s chance was reached %(reached)s times out of %(windows)s."
    ) % {
        "p": format_percent(rec.p, 0),
        "reached": reached,
        "windows": windows,
    }


def _sentences(*parts: str) -> str:
    # Chinese sentences end in "。" and run on; English ones need a space between them.
    return (" " if lang() == "en" else "").join(p for p in parts if p)


def metric_amount(value: int, metric: Metric) -> str:
    """``value`` (the metric's minor units) as the pages show amounts: money in the company's
    currency, counts without a symbol."""
    money = metric.aggregation in (Metric.Aggregation.SUM_AMOUNT, Metric.Aggregation.SUM_PROFIT)
    return format_amount(value, metric.decimals, lang(), currency=company_currency(), symbol=money)


def _share(ratio: float) -> str:
    """8%, or 0.4% where whole percent would round a small error away to nothing."""
    return format_percent(ratio, 0 if ratio >= 0.1 else 1)


def _metric_word(name: str) -> str:
    """Lower case inside an English sentence ("sales"); an acronym (GMV) and Chinese stay as they are."""
    return name if name.isupper() or not name[:1].isupper() else name[:1].lower() + name[1:]


def chance_sentence(p: float, target: int, metric: Metric) -> str:
    """A chance as a count of outcomes ("about 8 times in 10 …"), which nobody misreads as a share."""
    pct = min(99, max(1, round(p * 100)))
    times, out_of = (pct // 10, 10) if pct % 10 == 0 else (pct // 5, 20) if pct % 5 == 0 else (pct, 100)
    return _("About %(times)s times in %(out_of)s the result reaches %(target)s or more.") % {
        "times": times,
        "out_of": out_of,
        "target": metric_amount(target, metric),
    }


@dataclass(frozen=True)
class PlainBacktest:
    # None when no rep or unit had a full year before the replayed one to compare.
    accuracy: str | None
    # The engine's names of the models in the per-node table, for the technical details.
    models: tuple[str, ...] = ()


def backtest_summary(result) -> PlainBacktest:
    """A replayed year (``targets.backtest.BacktestResult``) in a director's words."""
    return PlainBacktest(
        _backtest_sentence(result), tuple(dict.fromkeys(s.model for s in result.report.series))
    )


def _backtest_sentence(result) -> str | None:
    """How far off the recommendation's monthly figures were for each rep or unit compared,
    beside "last year + 10%"."""
    mae, wape = result.report.pooled["mae"], result.report.pooled["wape"]
    figures = (mae["forecast"], wape["forecast"], mae["last_year_plus_10"], wape["last_year_plus_10"])
    if any(v is None or not math.isfinite(v) for v in figures):
        return None
    monthly = _(
        "In %(year)s (%(months)s months compared), the recommendation was off by %(amount)s a month "
        "on average for each one compared, about %(share)s of their sales. “Last year + 10%%” was "
        "off by %(rule)s a month (about %(rule_share)s)."
    ) % {
        "year": result.period_label,
        "months": result.months_compared,
        "amount": metric_amount(round_half_up(Fraction(figures[0])), result.metric),
        "share": _share(figures[1]),
        "rule": metric_amount(round_half_up(Fraction(figures[2])), result.metric),
        "rule_share": _share(figures[3]),
    }
    totals = result.report.pooled["total_mae"]
    if totals["forecast"] is None or totals["seasonal_naive"] is None:
        return monthly
    # What a target is set on: the period's total (issue 17).
    total = _(
        "On the total of those months it was off by %(amount)s for each one on average; last "
        "year's same months were off by %(naive)s."
    ) % {
        "amount": metric_amount(round_half_up(Fraction(totals["forecast"])), result.metric),
        "naive": metric_amount(round_half_up(Fraction(totals["seasonal_naive"])), result.metric),
    }
    return _sentences(monthly, total)
