"""The company's own calendar days in the engine (issue 13): overrides flip exactly their day,
counts over any range are the sum of the per-day flags, and a year the company entered starts
from the plain weekend."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from salestarget.engine.calendar import (
    FiscalCalendar,
    Period,
    day_weights,
    time_progress,
    workday_source,
    working_day_counts,
    working_days,
)

# 2025-2026 are years chinese_calendar knows; 2027-2028 are estimated.
DAYS = st.dates(dt.date(2025, 1, 1), dt.date(2028, 12, 31))
OVERRIDES = st.dictionaries(DAYS, st.booleans(), max_size=12).map(lambda d: tuple(sorted(d.items())))
COMPANY_YEARS = st.sets(st.integers(2025, 2028), max_size=2).map(lambda s: tuple(sorted(s)))


def flag(day: dt.date, overrides=(), company_years=()) -> int:
    return working_days(day, day, "CN", overrides, company_years)


@settings(max_examples=60, deadline=None)
@given(day=DAYS, working=st.booleans(), others=OVERRIDES, company_years=COMPANY_YEARS)
def test_an_override_flips_exactly_its_day(day, working, others, company_years):
    others = tuple((d, w) for d, w in others if d != day)
    with_it = tuple(sorted([*others, (day, working)]))
    start, end = day - dt.timedelta(days=40), day + dt.timedelta(days=40)
    base = working_days(start, end, "CN", others, company_years)
    changed = working_days(start, end, "CN", with_it, company_years)
    assert flag(day, with_it, company_years) == int(working)
    assert changed - base == int(working) - flag(day, others, company_years)
    for other in (day - dt.timedelta(days=1), day + dt.timedelta(days=1)):
        assert flag(other, with_it, company_years) == flag(other, others, company_years)


@settings(max_examples=60, deadline=None)
@given(a=DAYS, b=DAYS, overrides=OVERRIDES, company_years=COMPANY_YEARS)
def test_counts_over_any_range_are_the_sum_of_the_days(a, b, overrides, company_years):
    start, end = min(a, b), max(a, b)
    if (end - start).days > 400:
        end = start + dt.timedelta(days=400)
    flags = [
        flag(start + dt.timedelta(days=i), overrides, company_years) for i in range((end - start).days + 1)
    ]
    assert working_days(start, end, "CN", overrides, company_years) == sum(flags)
    year = Period("year", dt.date(start.year, 1, 1), dt.date(start.year, 12, 31))
    weights = day_weights(year, "working", "CN", overrides, company_years)
    assert int(weights[(start - year.start).days]) == flags[0]
    # The months at both ends of the range, vectorised, against the same sums of days.
    cal = FiscalCalendar(overrides=overrides, company_years=company_years)
    months = cal.periods("month", Period("day", start, start)) + cal.periods("month", Period("day", end, end))
    expected = [working_days(m.start, m.end, "CN", overrides, company_years) for m in months]
    assert list(cal.day_counts(months)) == expected


def test_a_company_year_starts_from_the_weekend_and_says_so():
    assert workday_source(2027) == "holidays-estimate"
    assert workday_source(2027, "CN", (2027,)) == "company"
    # Without overrides, an entered year is Monday to Friday: 261 working days in 2027.
    assert working_days(dt.date(2027, 1, 1), dt.date(2027, 12, 31), "CN", (), (2027,)) == 261
    # A library year keeps its announced days under a company day off.
    off = ((dt.date(2026, 12, 31), False),)
    assert working_days(dt.date(2026, 1, 1), dt.date(2026, 12, 31), "CN", off) == (
        working_days(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) - 1
    )


def test_the_calendar_is_hashable_and_normalised():
    a = FiscalCalendar(
        overrides=[(dt.date(2027, 2, 1), 0), (dt.date(2027, 1, 1), 1)], company_years=[2027, 2027]
    )
    b = FiscalCalendar(
        overrides=((dt.date(2027, 1, 1), True), (dt.date(2027, 2, 1), False)), company_years=(2027,)
    )
    assert a == b and hash(a) == hash(b)
    assert a.overrides == ((dt.date(2027, 1, 1), True), (dt.date(2027, 2, 1), False))


def test_existing_signatures_keep_working():
    year = Period("year", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert working_days(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == int(day_weights(year).sum())
    assert working_day_counts([year])[0] == int(day_weights(year, "working", "CN").sum())
    assert 0 < time_progress(year, dt.date(2026, 6, 30)) < 1
    assert isinstance(working_day_counts([year], "CN", "calendar"), np.ndarray)


def test_time_progress_follows_the_overrides():
    week = Period("week", dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    plain = time_progress(week, dt.date(2026, 12, 29))
    # The company closes on the 28th: two of the remaining working days have passed by the 29th.
    closed = time_progress(week, dt.date(2026, 12, 29), "working", "CN", ((dt.date(2026, 12, 28), False),))
    assert plain != closed
