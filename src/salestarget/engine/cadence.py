"""The rhythm a series' data arrive in, and the exposure of a month that follows from it.

Forecasts compare months by sales per unit of exposure, so that a month is not taken for a slump
only because it had less chance to sell. For daily data that chance is the company calendar's
working days (the Spring Festival moves between January and February). Data exported once a week
land on one weekday instead: a month with five Fridays holds five weeks of sales whatever its
working days, and dividing it by working days would invent a season of four- and five-Friday
months. Data exported once a month hold one month each, so every month counts the same.

The rhythm is read from the dates alone (which days carry facts), so that no setting has to be
kept right by hand when a source changes its export.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .calendar import add_months

KINDS = ("daily", "weekly", "monthly")

# Eight dates is two months of weekly exports. With 90% required, eight dates must all fall on one
# weekday, which business days spread over five weekdays do by chance about once in 80,000; with
# fewer dates a rep's handful of sales could pass for a weekly export.
WEEKLY_MIN_DATES = 8
# A holiday week (Spring Festival, National Day, 调休) moves an export or two in a year to another
# day; daily business data have about a fifth of their dates on each weekday, far below.
WEEKLY_SHARE = 0.9
# One or two months with a single date each say nothing: a sparse daily series looks the same.
MONTHLY_MIN_MONTHS = 3
# A correction or a late second export in one month out of ten still leaves a monthly export.
MONTHLY_SHARE = 0.9


@dataclass(frozen=True)
class Cadence:
    """How often a series' data arrive: ``weekday`` (0 = Monday) is the export day of a weekly
    series, so that its months can be counted in those days."""

    kind: str
    weekday: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"cadence kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == "weekly") != (self.weekday is not None):
            raise ValueError("a weekday belongs to a weekly cadence, and a weekly cadence needs one")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) .. 6 (Sunday), got {self.weekday}")


DAILY = Cadence("daily")


def detect(days: Iterable[dt.date]) -> Cadence:
    """The cadence of a series from the dates that carry its facts.

    Distinct dates only: a weekly export of a thousand lines is still one date a week. Weekly
    wins over monthly: a month-end export falls on every weekday in turn, so dates that keep to
    one weekday are weekly exports (or a monthly one on a fixed weekday, counted as weekly). Too
    few dates to tell stay daily, which is what the forecast did before cadences existed.
    """
    dates = {d.date() if isinstance(d, dt.datetime) else d for d in days}
    if len(dates) >= WEEKLY_MIN_DATES:
        weekday, count = Counter(d.weekday() for d in dates).most_common(1)[0]
        if count >= WEEKLY_SHARE * len(dates):
            return Cadence("weekly", weekday)
    per_month = Counter((d.year, d.month) for d in dates)
    if len(per_month) >= MONTHLY_MIN_MONTHS:
        single = sum(1 for n in per_month.values() if n == 1)
        if single >= MONTHLY_SHARE * len(per_month):
            return Cadence("monthly")
    return DAILY


def exposure(cadence: Cadence, months: Sequence[dt.date], working: np.ndarray) -> np.ndarray:
    """Each month's chance to sell in the series' own rhythm: ``working`` (the company calendar's
    working days of ``months``) for daily data, the month's export weekdays for weekly data, one
    per month for monthly data. Always positive, as the forecast divides by it."""
    working = np.asarray(working, dtype=float)
    if working.shape != (len(months),):
        raise ValueError(f"expected {len(months)} working-day counts, got shape {working.shape}")
    if any(m.day != 1 for m in months):
        raise ValueError("months must be given by their first days")
    if cadence.kind == "daily":
        return working.copy()
    if cadence.kind == "monthly":
        return np.ones(len(months))
    return np.array([_weekdays_in(m, cadence.weekday) for m in months], dtype=float)


def _weekdays_in(month: dt.date, weekday: int) -> int:
    """How many times ``weekday`` occurs in ``month``: four whole weeks plus the first few days."""
    length = (add_months(month, 1) - month).days
    return length // 7 + (1 if (weekday - month.weekday()) % 7 < length % 7 else 0)
