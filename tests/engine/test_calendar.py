import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salestarget.engine.calendar import (
    KINDS,
    FiscalCalendar,
    Period,
    day_weights,
    time_progress,
    week_number,
    workday_source,
    working_day_counts,
    working_days,
)

FAST = settings(max_examples=60, deadline=None)
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31))
calendars = st.builds(FiscalCalendar, start_month=st.integers(1, 12), week_start=st.integers(0, 6))


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class TestChineseWorkingDays:
    def test_2024_spring_festival_make_up_sundays_are_working_days(self):
        assert d("2024-02-04").weekday() == 6 and d("2024-02-18").weekday() == 6
        assert working_days(d("2024-02-04"), d("2024-02-04")) == 1
        assert working_days(d("2024-02-18"), d("2024-02-18")) == 1

    def test_2024_spring_festival_week_is_off(self):
        assert working_days(d("2024-02-10"), d("2024-02-17")) == 0

    def test_2025_spring_festival_falls_in_late_january(self):
        assert working_days(d("2025-01-28"), d("2025-02-04")) == 0
        assert working_days(d("2025-01-26"), d("2025-01-26")) == 1  # 调休 Sunday
        assert working_days(d("2025-02-08"), d("2025-02-08")) == 1  # 调休 Saturday

    def test_month_counts(self):
        months = FiscalCalendar().year(2024).children("month")
        counts = working_day_counts(months)
        assert counts[1] == 18  # February 2024: Spring Festival, two make-up Sundays
        assert counts.sum() == working_days(d("2024-01-01"), d("2024-12-31"))
        assert counts.dtype == np.int64

    def test_years_unknown_to_chinese_calendar_use_lunar_holiday_rules(self):
        assert workday_source(2024) == "chinese_calendar"
        assert workday_source(2030) == "holidays-estimate"
        # Spring Festival 2030 is in early February; New Year's Day is off; no make-up days are known.
        assert working_days(d("2030-02-04"), d("2030-02-06")) == 0
        assert working_days(d("2030-01-01"), d("2030-01-01")) == 0
        assert working_days(d("2030-03-04"), d("2030-03-10")) == 5

    def test_other_countries_use_holidays_package(self):
        assert workday_source(2026, "US") == "holidays"
        assert working_days(d("2026-07-03"), d("2026-07-03"), "US") == 0  # Independence Day observed
        assert working_days(d("2026-07-06"), d("2026-07-12"), "US") == 5
        with pytest.raises(ValueError, match="unknown country"):
            working_days(d("2026-07-06"), d("2026-07-12"), "XX")

    def test_empty_range(self):
        assert working_days(d("2024-02-02"), d("2024-02-01")) == 0


class TestDayWeights:
    def test_working_basis_marks_working_days(self):
        month = FiscalCalendar().period_of("month", d("2024-02-01"))
        weights = day_weights(month)
        assert weights.shape == (29,) and weights.sum() == 18
        assert weights[3] == 1 and weights[9] == 0  # Feb 4 (make-up Sunday), Feb 10 (holiday)

    def test_calendar_basis_counts_every_day(self):
        month = FiscalCalendar().period_of("month", d("2024-02-01"))
        assert day_weights(month, "calendar").sum() == 29
        assert working_day_counts([month], basis="calendar").tolist() == [29]

    def test_period_spanning_years(self):
        year = FiscalCalendar(start_month=4).year(2023)
        assert day_weights(year).sum() == working_days(year.start, year.end)

    def test_bad_basis(self):
        with pytest.raises(ValueError, match="basis"):
            day_weights(FiscalCalendar().year(2024), "hours")


class TestTimeProgress:
    def test_working_day_progress(self):
        month = FiscalCalendar().period_of("month", d("2024-02-01"))
        assert time_progress(month, d("2024-01-31")) == 0.0
        assert time_progress(month, d("2024-02-29")) == 1.0
        assert time_progress(month, d("2024-02-09")) == pytest.approx(8 / 18)  # Feb 1, 2, 4 (调休), 5-9
        assert time_progress(month, d("2024-02-17")) == pytest.approx(8 / 18)  # nothing during the holiday

    def test_calendar_progress(self):
        month = FiscalCalendar(working_days=False).period_of("month", d("2024-02-01"))
        assert FiscalCalendar(working_days=False).time_progress(month, d("2024-02-10")) == pytest.approx(
            10 / 29
        )

    def test_holiday_week_falls_back_to_calendar_days(self):
        week = FiscalCalendar(week_start=5).period_of("week", d("2024-02-12"))  # Sat 10 .. Fri 16
        assert working_days(week.start, week.end) == 0
        assert time_progress(week, d("2024-02-14")) == pytest.approx(5 / 7)


class TestFiscalCalendar:
    def test_fiscal_year_starting_in_april(self):
        cal = FiscalCalendar(start_month=4)
        fy = cal.year(2026)
        assert (fy.start, fy.end) == (d("2026-04-01"), d("2027-03-31"))
        assert cal.fiscal_year_of(d("2027-03-31")) == 2026 and cal.fiscal_year_of(d("2027-04-01")) == 2027
        q4 = cal.period_of("quarter", d("2027-02-10"))
        assert (q4.start, q4.end) == (d("2027-01-01"), d("2027-03-31"))
        assert q4.label() == "2026财年第4季度" and q4.label("en") == "Q4 FY2026"
        assert [h.start for h in fy.children("half")] == [d("2026-04-01"), d("2026-10-01")]
        assert fy.children("quarter")[0].label() == "2026财年第1季度"

    def test_labels(self):
        cal = FiscalCalendar()
        assert cal.period_of("month", d("2026-03-09")).label() == "2026年3月"
        assert cal.period_of("month", d("2026-03-09")).label("en") == "Mar 2026"
        assert cal.period_of("quarter", d("2026-03-09")).label() == "2026年第1季度"
        assert cal.period_of("quarter", d("2026-03-09")).label("en") == "Q1 2026"
        assert cal.period_of("week", d("2026-03-18")).label() == "2026年第12周"
        assert cal.period_of("week", d("2026-03-18")).label("en") == "W12 2026"
        assert cal.period_of("half", d("2026-08-01")).label() == "2026年下半年"
        assert cal.year(2026).label("en") == "2026"
        assert cal.period_of("day", d("2026-03-09")).label() == "2026年3月9日"

    def test_week_start_is_configurable(self):
        sunday_weeks = FiscalCalendar(week_start=6)
        week = sunday_weeks.period_of("week", d("2026-03-18"))
        assert week.start == d("2026-03-15") and week.start.weekday() == 6

    def test_periods_within_are_full_periods(self):
        cal = FiscalCalendar()
        month = cal.period_of("month", d("2026-03-01"))
        weeks = cal.periods("week", month)
        assert weeks[0].start == d("2026-02-23") and weeks[-1].end == d("2026-04-05")
        assert [m.label() for m in cal.periods("month", cal.period_of("quarter", d("2026-05-01")))] == [
            "2026年4月",
            "2026年5月",
            "2026年6月",
        ]

    def test_invalid_periods(self):
        with pytest.raises(ValueError):
            Period("month", d("2026-03-02"), d("2026-04-01"))
        with pytest.raises(ValueError):
            Period("quarter", d("2026-02-01"), d("2026-04-30"))  # not aligned to a January fiscal year
        with pytest.raises(ValueError):
            Period("week", d("2026-03-16"), d("2026-03-23"))
        with pytest.raises(ValueError):
            FiscalCalendar().period_of("month", d("2026-03-01")).children("quarter")
        with pytest.raises(ValueError):
            FiscalCalendar(start_month=13)


class TestPeriodProperties:
    @FAST
    @given(calendars, st.sampled_from(KINDS), dates, st.integers(-30, 30))
    def test_shift_round_trips(self, cal, kind, day, n):
        period = cal.period_of(kind, day)
        assert period.contains(day)
        assert period.shift(n).shift(-n) == period
        assert period.next().prev() == period
        assert period.next().start == period.end + dt.timedelta(days=1)

    @FAST
    @given(calendars, st.sampled_from(["year", "half", "quarter", "month"]), st.sampled_from(KINDS), dates)
    def test_children_partition_the_parent(self, cal, parent_kind, child_kind, day):
        parent = cal.period_of(parent_kind, day)
        if KINDS.index(child_kind) < KINDS.index(parent_kind):
            return
        children = parent.children(child_kind)
        assert children[0].start == parent.start and children[-1].end == parent.end
        for a, b in zip(children, children[1:], strict=False):
            assert b.start == a.end + dt.timedelta(days=1)
        assert sum(c.days for c in children) == parent.days
        assert working_day_counts(children).sum() == working_days(parent.start, parent.end)

    @FAST
    @given(dates)
    def test_monday_weeks_are_iso_weeks(self, day):
        iso = day.isocalendar()
        assert week_number(day, 0) == (iso.year, iso.week)

    @FAST
    @given(calendars, dates)
    def test_fiscal_year_contains_its_periods(self, cal, day):
        fy = cal.year(cal.fiscal_year_of(day))
        assert fy.contains(day) and fy.days in (365, 366)
        assert cal.period_of("quarter", day).fiscal_year == fy.fiscal_year
