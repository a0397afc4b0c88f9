import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from salestarget.engine.allocate import (
    AllocationError,
    Capacity,
    allocate,
    allocate_levels,
    apportion,
    apportion_each,
    by_capability,
    by_growth,
    by_history,
    by_profile,
    by_seasonality,
    level_totals,
    ramp_factor,
)
from salestarget.engine.calendar import FiscalCalendar, working_day_counts
from salestarget.engine.rounding import largest_remainder

WAN = 1_000_000  # 1万元 in fen
FAST = settings(max_examples=80, deadline=None)

totals = st.integers(0, 10**13)
units = st.sampled_from([1, 100, 10_000, WAN])
int_weights = st.lists(st.integers(0, 10**9), min_size=1, max_size=12).filter(any)
float_weights = st.lists(
    st.floats(0, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=12
).filter(any)
weights = st.one_of(int_weights, float_weights)


def check_unit(values: np.ndarray, total: int, unit: int) -> None:
    off_unit = values % unit != 0
    assert off_unit.sum() <= (1 if total % unit else 0)


class TestApportionProperties:
    @FAST
    @given(totals, weights, units)
    def test_exact_non_negative_and_in_units(self, total, w, unit):
        values = apportion(total, w, unit=unit)
        assert values.dtype == np.int64
        assert int(values.sum()) == total
        assert (values >= 0).all()
        assert (values[np.asarray(w) == 0] == 0).all()
        check_unit(values, total, unit)

    @FAST
    @given(totals, weights, units)
    def test_within_one_unit_of_the_exact_quota(self, total, w, unit):
        values = apportion(total, w, unit=unit)
        ints = [float(x).as_integer_ratio() for x in w]
        quota = [total * n / d / sum(a / b for a, b in ints) for n, d in ints]
        assert all(abs(v - q) <= 2 * unit + 1e-6 * total for v, q in zip(values.tolist(), quota, strict=True))

    @FAST
    @given(totals, weights, units, st.data())
    def test_monotone_in_each_weight(self, total, w, unit, data):
        i = data.draw(st.integers(0, len(w) - 1))
        bump = data.draw(st.integers(1, 10**6))
        raised = list(w)
        raised[i] = raised[i] + bump
        assert apportion(total, raised, unit=unit)[i] >= apportion(total, w, unit=unit)[i]

    @FAST
    @given(totals, weights, units)
    def test_idempotent_and_deterministic(self, total, w, unit):
        values = apportion(total, w, unit=unit)
        assert (apportion(total, values, unit=unit) == values).all()
        assert (apportion(total, w, unit=unit) == values).all()

    def test_ties_go_to_the_lower_index(self):
        assert apportion(100, [1, 1, 1]).tolist() == [34, 33, 33]
        assert apportion(2, [1, 1, 1]).tolist() == [1, 1, 0]

    def test_remainder_off_the_unit_goes_to_the_largest_remainder(self):
        # 25 in units of 10: quotas 1.6 and 0.9 units; the unit goes to 0.9, the 5 to 0.6.
        assert apportion(25, [16, 9], unit=10).tolist() == [15, 10]

    def test_huge_values_stay_exact(self):
        values = apportion(10**15 + 7, [10**14, 3 * 10**14, 1.5e13])
        assert int(values.sum()) == 10**15 + 7

    def test_rejections(self):
        with pytest.raises(ValueError, match="negative"):
            apportion(-1, [1, 2])
        with pytest.raises(AllocationError, match="all weights are zero"):
            apportion(10, [0, 0])
        with pytest.raises(ValueError, match="negative"):
            apportion(10, [1, -1])
        with pytest.raises(TypeError):
            apportion(10.0, [1, 1])
        with pytest.raises(ValueError, match="unit"):
            apportion(10, [1, 1], unit=0)
        assert apportion(0, [0, 0]).tolist() == [0, 0]


class TestAllocateProperties:
    @FAST
    @given(totals, weights, units, st.data())
    def test_locks_respected_and_exact(self, total, w, unit, data):
        labels = [f"c{i}" for i in range(len(w))]
        locked = data.draw(st.sets(st.sampled_from(labels), max_size=len(labels) - 1))
        locks = {label: data.draw(st.integers(0, total // (len(locked) or 1))) for label in locked}
        free_weights = [x for label, x in zip(labels, w, strict=True) if label not in locks]
        assume(any(free_weights) or total == sum(locks.values()))
        result = allocate(total, labels, w, unit=unit, locks=locks)
        assert result.total == total and (result.values >= 0).all()
        assert all(result[label] == value for label, value in locks.items())

    @FAST
    @given(st.integers(0, 10**9), int_weights, units, st.data())
    def test_bounds_respected_and_exact(self, total, w, unit, data):
        labels = [f"c{i}" for i in range(len(w))]
        bounds = {}
        for label in labels:
            low = data.draw(st.none() | st.integers(0, total // len(labels)))
            high = data.draw(st.none() | st.integers(total // len(labels), total))
            bounds[label] = (low, high)
        reach = sum(
            (hi if hi is not None else 10**18) if x else (lo or 0)
            for x, (lo, hi) in zip(w, bounds.values(), strict=True)
        )
        assume(reach >= total)
        result = allocate(total, labels, w, unit=unit, bounds=bounds)
        assert result.total == total
        for label, (low, high) in bounds.items():
            assert (low or 0) <= result[label] <= (high if high is not None else total)

    @FAST
    @given(st.integers(0, 10**12), weights, st.sampled_from([100, 105, 110, 112.5, 150]))
    def test_over_assignment_is_exact(self, total, w, pct):
        labels = [f"c{i}" for i in range(len(w))]
        result = allocate(total, labels, w, over_assign=pct)
        assert result.total == (total * int(pct * 10) + 500) // 1000
        assert result.explanation.adjustments[0].code == "over_assignment"

    @FAST
    @given(st.integers(0, 10**12), weights, units)
    def test_levels_are_exact_and_ordered(self, total, w, unit):
        labels = [f"c{i}" for i in range(len(w))]
        levels = allocate_levels(allocate(total, labels, w, unit=unit))
        wanted = level_totals(total)
        for name, result in levels.items():
            assert result.total == wanted[name]
        assert (levels["floor"].values <= levels["target"].values).all()
        assert (levels["target"].values <= levels["stretch"].values).all()
        assert (levels["floor"].values >= 0).all()


class TestWorkedExamples:
    """The tables planners make by hand, in 万元."""

    def test_company_to_products(self):
        result = allocate(5000 * WAN, ["产品A", "产品B", "服务"], [2000, 1500, 1500], unit=WAN)
        assert result.as_dict() == {"产品A": 2000 * WAN, "产品B": 1500 * WAN, "服务": 1500 * WAN}

    def test_company_to_regions_by_history(self):
        # Last three years' sales per region (万元); every year the shares were 36/30/24/10 %.
        history = [[720, 900, 1080], [600, 750, 900], [480, 600, 720], [200, 250, 300]]
        regions = ["华东", "华南", "华北", "其他"]
        result = allocate(5000 * WAN, regions, by_history(history), unit=WAN)
        assert result.as_dict() == {
            "华东": 1800 * WAN,
            "华南": 1500 * WAN,
            "华北": 1200 * WAN,
            "其他": 500 * WAN,
        }
        assert "比例分解法" in result.explanation.text("zh")

    def test_lock_a_region_and_spread_the_rest(self):
        regions = ["华东", "华南", "华北", "其他"]
        result = allocate(5000 * WAN, regions, [36, 30, 24, 10], unit=WAN, locks={"华北": 1400 * WAN})
        assert result["华北"] == 1400 * WAN
        assert result.total == 5000 * WAN
        # 3600万 over 36:30:10 → 1705.26 / 1421.05 / 473.68 → largest remainders 0.68 gets the last 万.
        assert result.as_dict() == {
            "华东": 1705 * WAN,
            "华南": 1421 * WAN,
            "华北": 1400 * WAN,
            "其他": 474 * WAN,
        }
        assert "华北 已锁定" in result.explanation.text("zh", label="华北")

    def test_over_assign_110_percent(self):
        result = allocate(5000 * WAN, ["华东", "华南"], [1, 1], unit=WAN, over_assign=110)
        assert result.total == 5500 * WAN
        assert "110%" in result.explanation.text("zh")

    def test_floor_target_stretch(self):
        target = allocate(5000 * WAN, ["产品A", "产品B", "服务"], [40, 30, 30], unit=WAN)
        levels = allocate_levels(target)
        assert levels["floor"].as_dict() == {"产品A": 1800 * WAN, "产品B": 1350 * WAN, "服务": 1350 * WAN}
        assert levels["stretch"].as_dict() == {"产品A": 2400 * WAN, "产品B": 1800 * WAN, "服务": 1800 * WAN}
        set_floor = allocate_levels(target, floor=4000 * WAN)
        assert set_floor["floor"].total == 4000 * WAN
        assert "单独设定" in set_floor["floor"].explanation.text("zh")
        with pytest.raises(ValueError, match="floor <= target"):
            level_totals(100, floor=101)

    def test_growth_on_history_is_flagged_as_naive(self):
        result = allocate(None, ["华东", "华南"], by_growth([1000 * WAN, 500 * WAN], 0.15), unit=WAN)
        assert result.as_dict() == {"华东": 1150 * WAN, "华南": 575 * WAN}
        assert [n.code for n in result.explanation.warnings] == ["naive_growth"]
        assert "naive" in result.explanation.text("en")
        per_child = allocate(None, ["a", "b"], by_growth([100, 100], [0.1, 0.3]))
        assert per_child.as_dict() == {"a": 110, "b": 130}

    def test_new_unit_gets_a_minimum_share(self):
        history = [[100, 100], [100, 100], [0, 0]]
        labels = ["老店1", "老店2", "新店"]
        # Half of the average existing share (50%) is 25%; the others shrink to 75% of their shares.
        result = allocate(1000, labels, by_history(history, min_share=0.5))
        assert result.as_dict() == {"老店1": 375, "老店2": 375, "新店": 250}
        floor_share = allocate(1000, labels, by_history(history, min_share=0.1, min_share_of="total"))
        assert floor_share["新店"] == 100
        silent = allocate(1000, labels, by_history(history))
        assert silent["新店"] == 0
        assert silent.explanation.warnings[0].params["labels"] == ["新店"]

    def test_recency_weights_favour_recent_years(self):
        history = [[100, 300], [300, 100]]
        result = allocate(1000, ["a", "b"], by_history(history, recency=[1, 3]))
        assert result.as_dict() == {"a": 625, "b": 375}

    def test_negative_history_counts_as_zero(self):
        result = allocate(100, ["a", "b"], by_history([[-10, 50], [50, 50]]))
        assert result.total == 100
        assert result.explanation.warnings[0].code == "negative_history"


class TestSeasonality:
    def test_spring_festival_follows_the_target_years_working_days(self):
        cal = FiscalCalendar()
        past = [cal.year(y).children("month") for y in (2023, 2024)]
        days = np.array([working_day_counts(months) for months in past])
        sales = days * 1000  # the same sales per working day every month
        target_days = working_day_counts(cal.year(2025).children("month"))
        result = allocate(
            1200 * WAN, [f"{m}月" for m in range(1, 13)], by_seasonality(sales, days, target_days)
        )
        assert result.total == 1200 * WAN
        shares = result.values / result.total
        assert shares == pytest.approx(target_days / target_days.sum(), abs=1e-9)
        # 2024: Spring Festival in February (Jan 22 / Feb 18 working days); 2025: late January (19 / 19).
        assert days[1][:2].tolist() == [22, 18] and target_days[:2].tolist() == [19, 19]
        assert abs(int(result.values[0]) - int(result.values[1])) <= 1
        naive = (sales / sales.sum(axis=1, keepdims=True)).mean(axis=0)
        assert naive[0] > naive[1]  # averaging past shares would have kept January heavier

    def test_seasonal_peaks_survive(self):
        days = np.full((2, 4), 20)
        sales = np.array([[100, 200, 300, 400], [200, 400, 600, 800]])  # year 2 doubled, same pattern
        result = allocate(1000, ["Q1", "Q2", "Q3", "Q4"], by_seasonality(sales, days, [20, 20, 20, 20]))
        assert result.as_dict() == {"Q1": 100, "Q2": 200, "Q3": 300, "Q4": 400}

    def test_manual_profile(self):
        profile = [6, 6, 8, 8, 8, 9, 9, 9, 9, 9, 9, 10]
        result = allocate(1200 * WAN, [f"{m}月" for m in range(1, 13)], by_profile(profile), unit=WAN)
        assert result.values.tolist()[:3] == [72 * WAN, 72 * WAN, 96 * WAN]
        with pytest.raises(AllocationError, match=r"99\.5000%"):
            by_profile([50, 49.5])
        assert by_profile([33.333, 33.333, 33.334]).method == "profile"


class TestCapability:
    def test_tiers_and_headcount(self):
        caps = [Capacity("A"), Capacity("B"), Capacity("C"), Capacity("D"), Capacity("B", headcount=2)]
        result = allocate(5000, list("ABCDE"), by_capability(caps))
        assert result.as_dict() == {
            "A": 1140,
            "B": 877,
            "C": 702,
            "D": 526,
            "E": 1755,
        }  # weights 1.3/1/.8/.6/2
        assert result["A"] > result["B"] > result["C"] > result["D"]
        assert result["E"] == pytest.approx(2 * result["B"], abs=1)

    def test_new_hire_ramps_monthly(self):
        cal = FiscalCalendar()
        caps = [Capacity("B"), Capacity("B", start=dt.date(2026, 7, 15))]
        monthly = [
            allocate(200_00, ["老员工", "新员工"], by_capability(caps, period=month))["新员工"]
            for month in cal.year(2026).children("month")
        ]
        assert monthly[:6] == [0] * 6
        assert monthly[6:10] == [4000, 6667, 8571, 10000]  # 0.25, 0.5, 0.75 and then a full share
        assert monthly[10:] == [10000, 10000]

    def test_annual_weight_averages_the_ramp(self):
        caps = [Capacity(), Capacity(start=dt.date(2026, 7, 1), vacancy=True)]
        basis = by_capability(caps, period=FiscalCalendar().year(2026))
        assert basis.weights[1] == pytest.approx((0.25 + 0.5 + 0.75 + 3) / 12)
        result = allocate(1000, ["在岗", "待招聘"], basis)
        text = result.explanation.text("zh", label="待招聘")
        assert "待招聘岗位" in text and "爬坡" in text

    def test_custom_curve_and_potential(self):
        assert ramp_factor(dt.date(2026, 1, 31), dt.date(2026, 2, 1), curve=[0.5, 1.0]) == 1.0
        assert ramp_factor(dt.date(2026, 3, 1), dt.date(2026, 2, 1)) == 0.0
        caps = [Capacity(potential=3.0), Capacity(potential=1.0)]
        assert allocate(400, ["a", "b"], by_capability(caps)).as_dict() == {"a": 300, "b": 100}
        with pytest.raises(ValueError, match="potential"):
            by_capability([Capacity(potential=1.0), Capacity()])
        with pytest.raises(ValueError, match="tier"):
            by_capability([Capacity("Z")])
        with pytest.raises(ValueError, match="period"):
            by_capability([Capacity(start=dt.date(2026, 1, 1))])


class TestInfeasible:
    def test_locks_exceeding_the_parent(self):
        with pytest.raises(AllocationError, match="locked") as err:
            allocate(100, ["a", "b", "c"], locks={"a": 60, "b": 50})
        assert err.value.nodes == ["a", "b"]

    def test_min_bounds_above_the_parent(self):
        with pytest.raises(AllocationError, match="minimum") as err:
            allocate(100, ["a", "b", "c"], bounds={"a": (60, None), "b": (50, None)})
        assert err.value.nodes == ["a", "b"]

    def test_max_bounds_below_the_parent(self):
        with pytest.raises(AllocationError, match="maximum") as err:
            allocate(100, ["a", "b"], bounds={"a": (None, 30), "b": (None, 30)})
        assert err.value.nodes == ["a", "b"]

    def test_all_locked_but_not_adding_up(self):
        with pytest.raises(AllocationError, match="every child is locked"):
            allocate(100, ["a", "b"], locks={"a": 10, "b": 20})

    def test_zero_weights_error_names_the_children_or_falls_back_to_even(self):
        with pytest.raises(AllocationError, match="all weights are zero") as err:
            allocate(100, ["a", "b"], [0, 0])
        assert err.value.nodes == ["a", "b"]
        result = allocate(100, ["a", "b"], [0, 0], zero_weights="even")
        assert result.as_dict() == {"a": 50, "b": 50}
        assert result.explanation.adjustments[0].code == "zero_weights_even"

    def test_negative_total(self):
        with pytest.raises(ValueError, match="negative"):
            allocate(-5, ["a"])

    def test_bounds_clamp_and_redistribute(self):
        result = allocate(1000, ["a", "b", "c"], [8, 1, 1], bounds={"a": (None, 500), "c": (300, None)})
        assert result.as_dict() == {"a": 500, "b": 200, "c": 300}
        codes = [n.code for n in result.explanation.adjustments]
        assert codes == ["bound_max", "bound_min"]


def test_explanation_is_json_serialisable_and_bilingual():
    result = allocate(
        5000 * WAN, ["华东", "华南"], by_history([[3, 4], [1, 1]], min_share=0.1), unit=WAN, locks={}
    )
    data = json.loads(json.dumps(result.explanation.to_dict()))
    assert data["method"] == "history" and data["values"] == result.values.tolist()
    assert data["method_name"] == {"zh": "比例分解法（按历史占比）", "en": "Historical share"}
    assert "华东" in result.explanation.text("zh") and "Historical share" in result.explanation.text("en")
    with pytest.raises(ValueError, match="lang"):
        result.explanation.text("fr")


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(st.integers(0, 10**6), st.integers(0, 10**13), st.integers(2**62, 2**70)),
        max_size=30,
    ),
    st.lists(st.integers(0, 31), min_size=1, max_size=14).filter(lambda w: sum(w) > 0),
)
def test_apportion_each_splits_every_total_as_one_split_would(totals, weights):
    """A rank splits thousands of year targets at once; each must be the split the rep's own
    page shows: the same months to the fen, ties and zero weights included."""
    assert apportion_each(totals, weights) == [largest_remainder(t, weights) for t in totals]


def test_apportion_each_worked_example():
    # 100.00 yuan over months of 21, 19 and 22 working days: 3,387.10 + 3,064.52 + 3,548.39 fen,
    # the one fen left goes to the largest remainder (0.52); 0.01 yuan to the largest month.
    assert apportion_each([10_000, 0, 1], [21, 19, 22]) == [[3387, 3065, 3548], [0, 0, 0], [0, 0, 1]]
