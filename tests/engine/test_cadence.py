"""Issue 17: a series' exposure follows the rhythm of its data (daily, weekly on one weekday, monthly)."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salestarget.engine.cadence import (
    DAILY,
    MONTHLY_MIN_MONTHS,
    WEEKLY_MIN_DATES,
    Cadence,
    detect,
    exposure,
)
from salestarget.engine.calendar import add_months

FAST = settings(max_examples=80, deadline=None)
FRIDAY, THURSDAY = 4, 3
DAY = dt.timedelta(days=1)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + i * DAY for i in range((last - first).days + 1)]


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out = [first.replace(day=1)]
    while out[-1] < last.replace(day=1):
        out.append(add_months(out[-1], 1))
    return out


def count_weekday(month: dt.date, weekday: int) -> int:
    """By brute force: every day of the month looked at."""
    return sum(1 for d in days_between(month, add_months(month, 1) - DAY) if d.weekday() == weekday)


def fridays_2023_2024() -> list[dt.date]:
    """Weekly exports on Fridays; the Spring Festival and National Day weeks export on Thursday."""
    fridays = [d for d in days_between(dt.date(2023, 1, 1), dt.date(2024, 12, 31)) if d.weekday() == FRIDAY]
    shifted = {dt.date(2024, 2, 9), dt.date(2023, 9, 29)}
    return [d - DAY if d in shifted else d for d in fridays]


class TestDetect:
    def test_friday_exports_with_a_few_holiday_shifts_are_weekly_on_friday(self):
        days = fridays_2023_2024()
        assert sum(d.weekday() == THURSDAY for d in days) == 2
        assert detect(days) == Cadence("weekly", FRIDAY)

    def test_repeated_dates_count_once(self):
        # A weekly export of many order lines: the same Friday on every line.
        days = [d for d in fridays_2023_2024()[:10] for _ in range(50)] + [dt.date(2023, 3, 15)] * 200
        assert detect(days) == Cadence("weekly", FRIDAY)

    def test_datetimes_are_read_as_their_dates(self):
        days = [dt.datetime.combine(d, dt.time(18, 30)) for d in fridays_2023_2024()]
        assert detect(days) == Cadence("weekly", FRIDAY)

    @pytest.mark.parametrize("day", ["end", "first"])
    def test_one_date_a_month_is_monthly(self, day):
        months = months_between(dt.date(2022, 1, 1), dt.date(2024, 12, 1))
        days = [add_months(m, 1) - DAY if day == "end" else m for m in months]
        assert detect(days) == Cadence("monthly")

    def test_a_correction_in_one_month_leaves_it_monthly(self):
        ends = [add_months(m, 1) - DAY for m in months_between(dt.date(2023, 1, 1), dt.date(2024, 12, 1))]
        assert detect([*ends, dt.date(2024, 3, 12)]) == Cadence("monthly")

    def test_business_days_are_daily(self):
        days = [d for d in days_between(dt.date(2023, 1, 1), dt.date(2024, 12, 31)) if d.weekday() < 5]
        assert detect(days) == DAILY

    def test_sparse_sales_on_several_days_a_month_are_daily(self):
        days = [
            m.replace(day=d)
            for m in months_between(dt.date(2024, 1, 1), dt.date(2024, 12, 1))
            for d in (3, 17)
        ]
        assert detect(days) == DAILY

    def test_too_few_dates_are_daily(self):
        assert detect([]) == DAILY
        # Seven Fridays: one short of telling a weekly export from a rep's few sales.
        assert detect(fridays_2023_2024()[: WEEKLY_MIN_DATES - 1]) == DAILY
        # Two month-ends: too few months to tell.
        ends = [dt.date(2024, 1, 31), dt.date(2024, 2, 29)]
        assert MONTHLY_MIN_MONTHS > len(ends) and detect(ends) == DAILY


class TestExposure:
    def test_weekly_counts_the_export_weekday_of_each_month(self):
        months = [dt.date(2024, 2, 1), dt.date(2024, 5, 1), dt.date(2024, 6, 1)]
        out = exposure(Cadence("weekly", FRIDAY), months, np.array([19.0, 20.0, 19.0]))
        assert out.dtype == float
        assert out.tolist() == [4.0, 5.0, 4.0]
        # Leap February 2024 begins on a Thursday: five Thursdays.
        assert exposure(Cadence("weekly", THURSDAY), months[:1], np.array([19.0])).tolist() == [5.0]

    def test_daily_is_the_company_calendar_and_monthly_is_one(self):
        months = [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
        working = np.array([22, 15])
        daily = exposure(DAILY, months, working)
        assert daily.dtype == float and daily.tolist() == [22.0, 15.0]
        assert exposure(Cadence("monthly"), months, working).tolist() == [1.0, 1.0]
        assert exposure(DAILY, [], np.zeros(0)).shape == (0,)

    def test_inputs_are_checked(self):
        with pytest.raises(ValueError):
            exposure(DAILY, [dt.date(2024, 1, 1)], np.array([1.0, 2.0]))
        with pytest.raises(ValueError):
            exposure(DAILY, [dt.date(2024, 1, 15)], np.array([1.0]))
        with pytest.raises(ValueError):
            Cadence("weekly")
        with pytest.raises(ValueError):
            Cadence("monthly", FRIDAY)
        with pytest.raises(ValueError):
            Cadence("weekly", 7)
        with pytest.raises(ValueError):
            Cadence("hourly")


MONDAY_2020 = dt.date(2020, 1, 6)


@FAST
@given(
    st.integers(0, 6),
    st.sets(st.integers(0, 520), min_size=WEEKLY_MIN_DATES, max_size=120),
)
def test_any_weekly_series_is_its_weekday_and_exposure_counts_those_days(weekday, weeks):
    days = [MONDAY_2020 + dt.timedelta(weeks=w, days=weekday) for w in weeks]
    cadence = detect(days)
    assert cadence == Cadence("weekly", weekday)
    months = months_between(min(days), max(days))
    out = exposure(cadence, months, np.ones(len(months)))
    assert out.sum() == sum(count_weekday(m, weekday) for m in months)
    assert set(out.tolist()) <= {4.0, 5.0}
    # No month holds more exports than its exposure says it can.
    per_month = {m: sum(1 for d in days if d.replace(day=1) == m) for m in months}
    assert all(per_month[m] <= e for m, e in zip(months, out.tolist(), strict=True))
