"""Fiscal calendar, period arithmetic and working-day counts.

Conventions chosen here (everything else in the engine relies on them):

* A fiscal year is named by the calendar year in which it *starts*: with ``start_month=4``, FY2026 runs
  2026-04-01..2027-03-31. With ``start_month=1`` fiscal and calendar years coincide.
* Halves and quarters are fiscal (Q1 of FY2026 with start month 4 is April-June 2026); months are calendar
  months.
* Weeks start on ``week_start`` (0 = Monday, as Chinese users count them) and are numbered like ISO 8601,
  generalised to any start day: a week belongs to the year that contains its fourth day, and week 1 is the
  first such week. With Monday starts this is exactly the ISO week number.
* Ends are inclusive.

Working days: for China ``chinese_calendar`` knows the announced holidays and the 调休 make-up working
days, but only for the years it ships (it raises NotImplementedError outside them). For those years we
fall back to the ``holidays`` package's Chinese rules: statutory holidays computed from the lunar calendar
plus Monday-Friday, without make-up days (they are announced only a year ahead). This keeps the Spring
Festival in the right month for future years, which matters more for seasonality than the make-up
weekends; ``workday_source`` says which source a year used. Other countries use ``holidays`` (public
holidays and the country's own weekend, Saturday/Sunday for most).

Company calendar: a company may enter a year's official days itself (the 调休 of a year the libraries do
not know yet) and its own days off. They reach the engine as plain values, hashable so that the cached
masks stay cached: ``overrides`` (date, is a working day) pairs, and ``company_years``, the years whose
official days the company entered in full. Such a year starts from the country's plain weekend (no
library holidays) before the overrides apply, and ``workday_source`` names it "company"; in other years
the overrides apply on top of the library's days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

# numpy, chinese_calendar and holidays (~0.2 s to import) are imported where working days are
# first computed: every page and command imports this module for FiscalCalendar, few count
# working days.

KINDS = ("year", "half", "quarter", "month", "week", "day")
DayBasis = Literal["working", "calendar"]
# (date, is a working day) pairs, sorted by date: the company's calendar on top of the library's.
Overrides = tuple[tuple[dt.date, bool], ...]

_MONTHS_PER = {"year": 12, "half": 6, "quarter": 3, "month": 1}
_RANK = {kind: i for i, kind in enumerate(KINDS)}
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ONE_DAY = dt.timedelta(days=1)


def add_months(d: dt.date, n: int) -> dt.date:
    """First day of the month `n` months after the month of `d`."""
    index = d.year * 12 + (d.month - 1) + n
    return dt.date(index // 12, index % 12 + 1, 1)


def year_before(d: dt.date) -> dt.date:
    """The same day a year earlier; 29 February becomes the 28th."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def week_anchor(d: dt.date, week_start: int = 0) -> dt.date:
    """First day of the week containing `d`."""
    return d - dt.timedelta(days=(d.weekday() - week_start) % 7)


def week_number(d: dt.date, week_start: int = 0) -> tuple[int, int]:
    """(year, week) of the week containing `d`; ISO 8601 numbering when weeks start on Monday."""
    fourth = week_anchor(d, week_start) + dt.timedelta(days=3)
    return fourth.year, (fourth - dt.date(fourth.year, 1, 1)).days // 7 + 1


def _check_basis(basis: str) -> None:
    if basis not in ("working", "calendar"):
        raise ValueError(f"basis must be 'working' or 'calendar', got {basis!r}")


@dataclass(frozen=True, order=True)
class Period:
    """A fiscal period [start, end] (inclusive).

    The fiscal start month and week start travel with the period so that arithmetic and labels need no
    calendar object. Weeks produced by ``children("week")`` may be clipped at the parent's edges so the
    children partition the parent exactly; shifting such a week moves the full week.
    """

    kind: str
    start: dt.date
    end: dt.date
    start_month: int = 1
    week_start: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if not 1 <= self.start_month <= 12:
            raise ValueError(f"start_month must be 1..12, got {self.start_month}")
        if not 0 <= self.week_start <= 6:
            raise ValueError(f"week_start must be 0 (Monday)..6 (Sunday), got {self.week_start}")
        if self.end < self.start:
            raise ValueError(f"period end {self.end} is before its start {self.start}")
        if self.kind in _MONTHS_PER:
            months = _MONTHS_PER[self.kind]
            aligned = (self.start.month - self.start_month) % months == 0
            if self.start.day != 1 or not aligned or self.end != add_months(self.start, months) - _ONE_DAY:
                raise ValueError(f"{self.start}..{self.end} is not a fiscal {self.kind}")
        elif self.kind == "week" and self.end > week_anchor(self.start, self.week_start) + dt.timedelta(
            days=6
        ):
            raise ValueError(f"{self.start}..{self.end} spans more than one week")
        elif self.kind == "day" and self.start != self.end:
            raise ValueError("a day period must start and end on the same date")

    @property
    def fiscal_year(self) -> int:
        return self.start.year if self.start.month >= self.start_month else self.start.year - 1

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, d: dt.date) -> bool:
        return self.start <= d <= self.end

    def shift(self, n: int) -> Period:
        if self.kind in _MONTHS_PER:
            months = _MONTHS_PER[self.kind]
            start = add_months(self.start, n * months)
            end = add_months(start, months) - _ONE_DAY
        elif self.kind == "week":
            start = week_anchor(self.start, self.week_start) + dt.timedelta(weeks=n)
            end = start + dt.timedelta(days=6)
        else:
            start = end = self.start + dt.timedelta(days=n)
        return Period(self.kind, start, end, self.start_month, self.week_start)

    def next(self) -> Period:
        return self.shift(1)

    def prev(self) -> Period:
        return self.shift(-1)

    def children(self, kind: str) -> list[Period]:
        """Sub-periods of `kind` that partition this period (weeks clipped at the edges)."""
        if kind == self.kind:
            return [self]
        if kind not in _RANK or _RANK[kind] < _RANK[self.kind]:
            raise ValueError(f"a {self.kind} cannot be split into {kind} periods")
        out: list[Period] = []
        if kind in _MONTHS_PER:
            months = _MONTHS_PER[kind]
            start = self.start
            while start <= self.end:
                end = add_months(start, months) - _ONE_DAY
                out.append(Period(kind, start, end, self.start_month, self.week_start))
                start = end + _ONE_DAY
        elif kind == "week":
            anchor = week_anchor(self.start, self.week_start)
            while anchor <= self.end:
                start, end = max(anchor, self.start), min(anchor + dt.timedelta(days=6), self.end)
                out.append(Period("week", start, end, self.start_month, self.week_start))
                anchor += dt.timedelta(weeks=1)
        else:
            days = (self.start + dt.timedelta(days=i) for i in range(self.days))
            out = [Period("day", d, d, self.start_month, self.week_start) for d in days]
        return out

    def label(self, lang: str = "zh") -> str:
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
        fy = self.fiscal_year
        if self.kind in ("year", "half", "quarter"):
            index = (self.start.month - self.start_month) % 12 // _MONTHS_PER[self.kind] + 1
            zh_year = f"{fy}年" if self.start_month == 1 else f"{fy}财年"
            en_year = f"{fy}" if self.start_month == 1 else f"FY{fy}"
            if self.kind == "year":
                return zh_year if lang == "zh" else en_year
            if self.kind == "half":
                return (
                    f"{zh_year}{'上' if index == 1 else '下'}半年" if lang == "zh" else f"H{index} {en_year}"
                )
            return f"{zh_year}第{index}季度" if lang == "zh" else f"Q{index} {en_year}"
        d = self.start
        if self.kind == "month":
            return f"{d.year}年{d.month}月" if lang == "zh" else f"{_EN_MONTHS[d.month - 1]} {d.year}"
        if self.kind == "week":
            year, week = week_number(d, self.week_start)
            return f"{year}年第{week}周" if lang == "zh" else f"W{week} {year}"
        return (
            f"{d.year}年{d.month}月{d.day}日"
            if lang == "zh"
            else f"{d.day} {_EN_MONTHS[d.month - 1]} {d.year}"
        )


def _year_overrides(overrides: Overrides, year: int) -> Overrides:
    return tuple((d, working) for d, working in overrides if d.year == year)


@lru_cache(maxsize=256)
def _year_mask(country: str, year: int, overrides: Overrides = (), company: bool = False) -> np.ndarray:
    """Working-day flags for every day of `year`; cached because planning screens ask constantly.

    ``overrides`` are this year's company days; ``company``: the company entered the year's official
    days, so the library's holidays are left out and only the weekend remains before the overrides."""
    import numpy as np

    start = dt.date(year, 1, 1)
    days = [start + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - start).days)]
    if company:
        weekend = _weekend(country)
        flags = [d.weekday() not in weekend for d in days]
    elif workday_source(year, country) == "chinese_calendar":
        import chinese_calendar

        flags = [chinese_calendar.is_workday(d) for d in days]
    else:
        import holidays

        calendar = holidays.country_holidays(country, years=year)
        flags = [calendar.is_working_day(d) for d in days]
    for d, working in overrides:
        if d.year == year:
            flags[(d - start).days] = bool(working)
    mask = np.array(flags, dtype=bool)
    mask.setflags(write=False)
    return mask


def _weekend(country: str) -> frozenset[int]:
    """The country's weekday numbers off every week (Saturday and Sunday for China)."""
    if country == "CN":
        return frozenset((5, 6))
    import holidays

    return frozenset(holidays.country_holidays(country).weekend)


@lru_cache(maxsize=256)
def workday_source(year: int, country: str = "CN", company_years: tuple[int, ...] = ()) -> str:
    """Which data decides working days: 'company' (the company entered the year's official days),
    'chinese_calendar', 'holidays-estimate' (CN, year unknown to chinese_calendar: no make-up days) or
    'holidays'."""
    if year in company_years:
        return "company"
    if country == "CN":
        import chinese_calendar

        try:
            chinese_calendar.is_workday(dt.date(year, 1, 1))
        except NotImplementedError:
            return "holidays-estimate"
        return "chinese_calendar"
    check_country(country)
    return "holidays"


def library_days(year: int, country: str = "CN", lang: str = "zh") -> list[tuple[dt.date, str, str]]:
    """The year's public holidays ('holiday') and make-up working days ('workday') as the libraries
    know them, with their names in `lang` ('zh' or 'en'), sorted by date. Holidays of an estimated
    year are computed from the lunar calendar; such a year has no make-up days."""
    out: list[tuple[dt.date, str, str]] = []
    if workday_source(year, country) == "chinese_calendar":
        import chinese_calendar

        names = {h.value: (h.chinese if lang == "zh" else h.value) for h in chinese_calendar.Holiday}
        day = dt.date(year, 1, 1)
        while day.year == year:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            if name:
                kind = "holiday" if on_holiday else "workday"
                out.append((day, kind, names.get(name, name)))
            day += _ONE_DAY
        return out
    import holidays

    check_country(country)
    language = None
    if country == "CN":
        language = "zh_CN" if lang == "zh" else "en_US"
    calendar = holidays.country_holidays(country, years=year, language=language)
    return [(d, "holiday", str(name)) for d, name in sorted(calendar.items())]


def check_country(country: str) -> None:
    import holidays

    if country != "CN" and country not in holidays.list_supported_countries():
        raise ValueError(f"unknown country code {country!r} for working days")


def _mask(country: str, year: int, overrides: Overrides, company_years: tuple[int, ...]) -> np.ndarray:
    return _year_mask(country, year, _year_overrides(overrides, year), year in company_years)


@lru_cache(maxsize=64)
def _cumulative(
    country: str,
    first_year: int,
    last_year: int,
    overrides: Overrides = (),
    company_years: tuple[int, ...] = (),
) -> np.ndarray:
    """Running count of working days from first_year-01-01; index i = days before ordinal(first) + i."""
    import numpy as np

    mask = np.concatenate(
        [_mask(country, y, overrides, company_years) for y in range(first_year, last_year + 1)]
    )
    cum = np.zeros(mask.size + 1, dtype=np.int64)
    np.cumsum(mask, out=cum[1:])
    cum.setflags(write=False)
    return cum


def _counts(
    starts: np.ndarray,
    ends: np.ndarray,
    basis: str,
    country: str,
    overrides: Overrides = (),
    company_years: tuple[int, ...] = (),
) -> np.ndarray:
    """Inclusive day counts for ordinal ranges, vectorised over the ranges."""
    import numpy as np

    _check_basis(basis)
    if basis == "calendar":
        return np.maximum(ends - starts + 1, 0)
    if starts.size == 0:
        return np.zeros(0, dtype=np.int64)
    first = dt.date.fromordinal(int(starts.min())).year
    last = dt.date.fromordinal(int(ends.max())).year
    last = max(first, last)
    # Only the overrides inside the counted years take part in the cache key.
    inside = tuple((d, w) for d, w in overrides if first <= d.year <= last)
    years = tuple(y for y in company_years if first <= y <= last)
    cum = _cumulative(country, first, last, inside, years)
    origin = dt.date(first, 1, 1).toordinal()
    counts = cum[ends - origin + 1] - cum[starts - origin]
    return np.where(ends >= starts, counts, 0)


def working_days(
    start: dt.date,
    end: dt.date,
    country: str = "CN",
    overrides: Overrides = (),
    company_years: tuple[int, ...] = (),
) -> int:
    """Working days in [start, end] (inclusive); 0 when end < start."""
    import numpy as np

    if end < start:
        return 0
    counts = _counts(
        np.array([start.toordinal()]),
        np.array([end.toordinal()]),
        "working",
        country,
        overrides,
        company_years,
    )
    return int(counts[0])


def working_day_counts(
    periods: Sequence[Period],
    country: str = "CN",
    basis: DayBasis = "working",
    overrides: Overrides = (),
    company_years: tuple[int, ...] = (),
) -> np.ndarray:
    """Day counts per period as int64, one vectorised lookup for all periods."""
    import numpy as np

    starts = np.fromiter((p.start.toordinal() for p in periods), dtype=np.int64, count=len(periods))
    ends = np.fromiter((p.end.toordinal() for p in periods), dtype=np.int64, count=len(periods))
    return _counts(starts, ends, basis, country, overrides, company_years).astype(np.int64)


def day_weights(
    period: Period,
    basis: DayBasis = "working",
    country: str = "CN",
    overrides: Overrides = (),
    company_years: tuple[int, ...] = (),
) -> np.ndarray:
    """One weight per day of `period` (int64): 1 on working days (every day for 'calendar'), else 0."""
    import numpy as np

    _check_basis(basis)
    if basis == "calendar":
        return np.ones(period.days, dtype=np.int64)
    parts = []
    for year in range(period.start.year, period.end.year + 1):
        mask = _mask(country, year, overrides, company_years)
        lo = (max(period.start, dt.date(year, 1, 1)) - dt.date(year, 1, 1)).days
        hi = (min(period.end, dt.date(year, 12, 31)) - dt.date(year, 1, 1)).days
        parts.append(mask[lo : hi + 1])
    return np.concatenate(parts).astype(np.int64)


def time_progress(
    period: Period,
    as_of: dt.date,
    basis: DayBasis = "working",
    country: str = "CN",
    overrides: Overrides = (),
    company_years: tuple[int, ...] = (),
) -> float:
    """Share of the period's days elapsed through `as_of` (inclusive), for 'time vs target' gauges.

    A period without a single working day (a holiday week) falls back to calendar days, because the
    question "how far through the week are we" still has an answer there.
    """
    import numpy as np

    _check_basis(basis)
    if as_of < period.start:
        return 0.0
    if as_of >= period.end:
        return 1.0
    ranges = [(period.start, period.end), (period.start, as_of)]
    starts = np.array([s.toordinal() for s, _ in ranges])
    ends = np.array([e.toordinal() for _, e in ranges])
    total, elapsed = _counts(starts, ends, basis, country, overrides, company_years)
    if total == 0:
        total, elapsed = _counts(starts, ends, "calendar", country)
    return float(elapsed) / float(total)


@dataclass(frozen=True)
class FiscalCalendar:
    """A company's calendar: fiscal start month, week start, country and day basis for progress/weights."""

    start_month: int = 1
    week_start: int = 0
    country: str = "CN"
    working_days: bool = True
    # The company's own days (see the module): (date, is a working day) pairs, and the years whose
    # official days the company entered in full.
    overrides: Overrides = ()
    company_years: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Normalised (sorted, plain tuples) so that equal calendars hash alike and masks stay cached.
        object.__setattr__(self, "overrides", tuple(sorted((d, bool(w)) for d, w in self.overrides)))
        object.__setattr__(self, "company_years", tuple(sorted(set(self.company_years))))
        if not 1 <= self.start_month <= 12:
            raise ValueError(f"start_month must be 1..12, got {self.start_month}")
        if not 0 <= self.week_start <= 6:
            raise ValueError(f"week_start must be 0 (Monday)..6 (Sunday), got {self.week_start}")
        check_country(self.country)

    @property
    def basis(self) -> DayBasis:
        return "working" if self.working_days else "calendar"

    def fiscal_year_of(self, d: dt.date) -> int:
        return d.year if d.month >= self.start_month else d.year - 1

    def year(self, fy: int) -> Period:
        start = dt.date(fy, self.start_month, 1)
        return Period("year", start, add_months(start, 12) - _ONE_DAY, self.start_month, self.week_start)

    def period_of(self, kind: str, d: dt.date) -> Period:
        """The full period of `kind` containing `d`."""
        if kind in _MONTHS_PER:
            months = _MONTHS_PER[kind]
            offset = (d.month - self.start_month) % 12 // months * months
            start = add_months(dt.date(self.fiscal_year_of(d), self.start_month, 1), offset)
            return Period(
                kind, start, add_months(start, months) - _ONE_DAY, self.start_month, self.week_start
            )
        if kind == "week":
            start = week_anchor(d, self.week_start)
            return Period("week", start, start + dt.timedelta(days=6), self.start_month, self.week_start)
        if kind == "day":
            return Period("day", d, d, self.start_month, self.week_start)
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

    def periods(self, kind: str, within: Period) -> list[Period]:
        """Full (unclipped) periods of `kind` overlapping `within`; see Period.children for a partition."""
        out = []
        period = self.period_of(kind, within.start)
        while period.start <= within.end:
            out.append(period)
            period = period.next()
        return out

    def workday_source(self, year: int) -> str:
        return workday_source(year, self.country, self.company_years)

    def is_estimated(self, year: int) -> bool:
        """Whether the year's working days are an estimate: no announced make-up days are known."""
        return self.workday_source(year) == "holidays-estimate"

    def day_weights(self, period: Period) -> np.ndarray:
        return day_weights(period, self.basis, self.country, self.overrides, self.company_years)

    def day_counts(self, periods: Sequence[Period]) -> np.ndarray:
        return working_day_counts(periods, self.country, self.basis, self.overrides, self.company_years)

    def working_day_counts(self, periods: Sequence[Period]) -> np.ndarray:
        """Working days per period whatever the progress basis (sales follow the office calendar)."""
        return working_day_counts(periods, self.country, "working", self.overrides, self.company_years)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        return working_days(start, end, self.country, self.overrides, self.company_years)

    def time_progress(self, period: Period, as_of: dt.date) -> float:
        return time_progress(period, as_of, self.basis, self.country, self.overrides, self.company_years)
