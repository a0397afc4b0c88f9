import dataclasses
import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from salestarget.engine.pace import (
    HISTORY_FACTOR,
    MIN_HISTORY,
    SPREAD,
    STATUSES,
    Pace,
    Segment,
    Thresholds,
    change,
    expected_share,
    history_prior,
    normal_chance,
    pace,
    spread_of,
)
from salestarget.engine.rounding import round_half_up

YUAN = 100  # fen
WAN = 10_000 * YUAN  # 1万元
FAST = settings(max_examples=200, deadline=None)
LOWER = Thresholds(lower_is_better=True)


def month(days: int, elapsed: int, weight: int = 1) -> Segment:
    return Segment(weight=weight, working_days=days, elapsed=elapsed)


# --- worked examples ------------------------------------------------------------------------------


class TestWorkedExamples:
    def test_month_half_gone_at_75_percent_must_speed_up(self):
        # 月目标100万元, 22个工作日过了11天, 完成37.5万元: 时间过半, 进度75%, 落后.
        p = pace(375_000 * YUAN, 1_000_000 * YUAN, [month(22, 11, 100)])
        assert p.time_progress == Fraction(1, 2)
        assert p.expected_share == Fraction(1, 2)
        assert p.expected_to_date == 500_000 * YUAN
        assert p.achievement == Fraction(3, 8)
        assert p.pace == Fraction(3, 4)
        assert p.status == "lagging"
        assert p.gap == 625_000 * YUAN
        assert p.remaining_days == 11
        assert p.required_per_day == math.ceil(Fraction(62_500_000, 11)) == 5_681_819
        assert p.run_rate == 750_000 * YUAN
        assert p.seasonal == 750_000 * YUAN
        assert p.projection is not None and p.run_rate <= p.projection < p.target
        assert p.chance is not None and p.chance < 0.5
        assert p.incentive is False

    def test_quarter_weighted_30_30_40_after_its_first_month(self):
        # 季度目标按月30/30/40分解, 第一个月结束: 应完成30%, 不是三分之一.
        segments = [month(21, 21, 30 * WAN), month(20, 0, 30 * WAN), month(22, 0, 40 * WAN)]
        assert expected_share(segments) == Fraction(3, 10)
        p = pace(33 * WAN, 100 * WAN, segments)
        assert p.time_progress == Fraction(21, 63)
        assert p.expected_to_date == 30 * WAN
        assert p.pace == Fraction(11, 10)
        assert p.status == "on_track"
        assert p.seasonal == 110 * WAN
        assert p.run_rate == 99 * WAN  # the run rate ignores that the quarter is back-loaded

    def test_spring_festival_month_weighs_little_but_goes_by_quickly(self):
        # 1月22天, 2月(春节)只有15个工作日, 3月23天; the plan puts 25/15/60 on them.
        segments = [month(22, 22, 25 * WAN), month(15, 10, 15 * WAN), month(23, 0, 60 * WAN)]
        share = expected_share(segments)
        assert share == Fraction(25, 100) + Fraction(15, 100) * Fraction(10, 15) == Fraction(35, 100)
        p = pace(42 * WAN, 100 * WAN, segments)
        assert p.time_progress == Fraction(32, 60)
        assert p.expected_to_date == 35 * WAN
        assert p.pace == Fraction(6, 5)
        assert p.status == "on_track"  # 1.2 is not above the ahead line
        assert pace(43 * WAN, 100 * WAN, segments).status == "ahead"
        assert p.required_per_day == math.ceil(Fraction(58 * WAN, 28))

    def test_month_with_no_working_days_counts_once_passed(self):
        holiday = Segment(weight=10, working_days=0, elapsed=0)
        assert expected_share([month(5, 5, 10), holiday, month(5, 0, 10)]) == Fraction(1, 3)
        assert expected_share([month(5, 5, 10), holiday, month(5, 1, 10)]) == Fraction(2, 3) + Fraction(1, 15)
        # At the end of the period's working days a trailing holiday is behind us too.
        assert expected_share([month(5, 5, 10), holiday]) == 1
        assert expected_share([month(5, 4, 10), holiday]) == Fraction(4, 10)

    def test_to_date_view_is_complete(self):
        # The tracking page reads "to date" with each segment cut at the as-of date.
        segments = [month(21, 21, 30), month(20, 7, 30), month(22, 0, 40)]
        cut = [Segment(s.weight, s.elapsed, s.elapsed) for s in segments]
        assert expected_share(cut) == 1

    def test_reached_and_incentive(self):
        t = Thresholds(incentive_line=Fraction(11, 10))
        p = pace(110 * WAN, 100 * WAN, [month(22, 15)], thresholds=t)
        assert p.status == "reached" and p.incentive
        assert p.gap == -10 * WAN
        assert p.required_per_day == 0
        assert pace(109 * WAN, 100 * WAN, [month(22, 15)], thresholds=t).incentive is False

    def test_at_risk_below_the_warning_line(self):
        assert pace(29, 100, [month(10, 5)]).status == "at_risk"
        assert pace(30, 100, [month(10, 5)]).status == "lagging"
        assert pace(40, 100, [month(10, 5)]).status == "on_track"

    def test_not_started_and_no_target(self):
        p = pace(0, 100 * WAN, [month(22, 0)])
        assert p.status == "not_started"
        assert p.pace is None and p.run_rate is None and p.seasonal is None
        assert p.time_progress == 0 and p.expected_to_date == 0
        assert p.required_per_day == math.ceil(Fraction(100 * WAN, 22))
        assert p.chance == pytest.approx(0.5)  # nothing seen yet: the plan itself is the projection
        none = pace(5 * WAN, None, [month(22, 11)], floor=None, stretch=None)
        assert none.status == "no_target"
        assert none.achievement is none.gap is none.expected_to_date is none.pace is None
        assert none.projection is none.chance is none.required_per_day is None
        assert none.run_rate == 10 * WAN

    def test_zero_target_is_reached(self):
        p = pace(0, 0, [month(22, 3)])
        assert p.status == "reached" and p.achievement is None and p.chance == 1.0

    def test_a_reached_target_has_every_chance(self):
        """QA on the demo: a rep's year at 103.4%, 已达成, showed a chance of 99%."""
        p = pace(1034 * WAN // 10, 100 * WAN, [month(22, 20)], spread=0.45, prior=60 * WAN)
        assert p.status == "reached" and p.chance == 1.0
        assert pace(100 * WAN, 100 * WAN, [month(22, 5)], spread=0.45, prior=60 * WAN).chance == 1.0
        assert pace(100 * WAN - 1, 100 * WAN, [month(22, 5)], spread=0.45, prior=60 * WAN).chance < 1.0

    def test_period_over(self):
        p = pace(90 * WAN, 100 * WAN, [month(22, 22)])
        assert p.remaining_days == 0 and p.required_per_day is None
        assert p.chance == 0.0 and p.projection == 90 * WAN
        assert pace(100 * WAN, 100 * WAN, [month(22, 22)]).chance == 1.0

    def test_costs_lower_is_better(self):
        # 费用预算10万元: 时间过半花了4万, 节奏良好, 但期末前不算达成.
        p = pace(4 * WAN, 10 * WAN, [month(20, 10)], thresholds=LOWER)
        assert p.pace == Fraction(5, 4)
        assert p.status == "ahead"
        assert p.gap == -6 * WAN
        assert p.required_per_day == 6 * WAN // 10
        assert p.chance is not None and p.chance > 0.5
        assert pace(7 * WAN, 10 * WAN, [month(20, 10)], thresholds=LOWER).status == "lagging"  # 5/7
        assert pace(9 * WAN, 10 * WAN, [month(20, 20)], thresholds=LOWER).status == "reached"
        over = pace(11 * WAN, 10 * WAN, [month(20, 20)], thresholds=LOWER)
        assert over.status == "on_track" and over.chance == 0.0 and over.gap == WAN
        assert pace(0, 10 * WAN, [month(20, 10)], thresholds=LOWER).status == "ahead"
        assert pace(10 * WAN, 10 * WAN, [month(20, 20)], thresholds=LOWER).chance == 1.0

    def test_required_per_day_rounds_toward_safety(self):
        assert pace(0, 10, [month(3, 0)]).required_per_day == 4
        assert pace(0, 10, [month(3, 0)], thresholds=LOWER).required_per_day == 3

    def test_all_weights_zero_is_a_straight_line(self):
        assert expected_share([month(10, 10, 0), month(30, 0, 0)]) == Fraction(1, 4)

    def test_no_working_days_at_all(self):
        assert expected_share([]) == 0
        assert expected_share([Segment(5, 0, 0)]) == 0
        p = pace(3, 10, [])
        assert p.time_progress == 0 and p.remaining_days == 0 and p.status == "not_started"


class TestHelpers:
    def test_normal_chance(self):
        assert normal_chance(100, 10, 100) == pytest.approx(0.5)
        assert normal_chance(110, 10, 100) == pytest.approx(0.8413447, abs=1e-6)
        assert normal_chance(100, 0, 100) == 1.0
        assert normal_chance(99.9, 0, 100) == 0.0
        assert 0 < normal_chance(0, 1, 30) < 1e-100  # erfc keeps the tail

    def test_change(self):
        assert change(120, 100) == Fraction(1, 5)
        assert change(80, 100) == Fraction(-1, 5)
        assert change(5, 0) is None and change(5, None) is None

    @pytest.mark.parametrize(
        "segment",
        [Segment(-1, 5, 0), Segment(1, -1, 0), Segment(1, 5, 6), Segment(1, 5, -1), Segment(1, 0, 1)],
    )
    def test_bad_segments(self, segment):
        with pytest.raises(ValueError, match="segment 1"):
            expected_share([month(5, 5), segment])
        with pytest.raises(ValueError):
            pace(1, 10, [segment])

    def test_bad_target(self):
        with pytest.raises(ValueError):
            pace(1, -10, [month(5, 1)])


class TestSpreadOf:
    def test_a_steady_team_is_surer_than_a_lumpy_rep(self):
        steady = [100, 104, 96, 102, 98, 100, 101, 99, 103, 97, 100, 100]
        lumpy = [0, 300, 20, 0, 180, 0, 250, 10, 0, 200, 40, 0][1:]  # after the first sale
        assert spread_of(steady, 1) < 0.05 < 0.5 < spread_of(lumpy, 1)

    def test_worked_example(self):
        # Months 80, 120 (x3 each): mean 100, sd 20, cv 0.2; a quarter averages three months out.
        history = [80, 120] * 3
        assert spread_of(history, 1) == pytest.approx(HISTORY_FACTOR * 0.2)
        assert spread_of(history, 3) == pytest.approx(HISTORY_FACTOR * 0.2 / math.sqrt(3))

    def test_months_before_the_first_sale_are_unknown_not_quiet(self):
        assert spread_of([0, 0, 0, 0, 0, 0, 80, 120, 80, 120, 80, 120], 1) == spread_of([80, 120] * 3, 1)

    def test_too_little_history_falls_back_to_the_pooled_spread(self):
        assert spread_of([0] * 7 + [10, 20, 30, 40, 50], 1) == SPREAD
        assert spread_of([], 1) == SPREAD
        assert spread_of([-5, 5, -5, 5, -5, 5], 1) == SPREAD  # returns cancel the sales out
        with pytest.raises(ValueError):
            spread_of([1] * MIN_HISTORY, 0)

    @given(st.lists(st.integers(0, 10**12), min_size=1, max_size=24), st.integers(1, 1000))
    def test_the_currency_unit_does_not_matter(self, history, k):
        assert spread_of([k * v for v in history], 1) == pytest.approx(spread_of(history, 1), rel=1e-9)


class TestHistoryPrior:
    QUARTER = [(0, Fraction(1)), (1, Fraction(1)), (2, Fraction(1))]

    def test_a_flat_history_expects_more_of_the_same(self):
        assert history_prior([100 * WAN] * 24, self.QUARTER) == 300 * WAN

    def test_worked_example_with_growth_and_season(self):
        # A year of 100万 a month, then a year of 120万 except a December of 240万: growth
        # (12 x 120 + 120) / (12 x 100) - 1 = 30%. A quarter from October: each month half last
        # year's month x 1.3, half a twelfth of the last year (1,560 / 12 = 130).
        history = [100 * WAN] * 12 + [120 * WAN] * 11 + [240 * WAN]
        october, december = (120 * 1.3 + 130) / 2, (240 * 1.3 + 130) / 2
        got = history_prior(history, [(9, Fraction(1)), (10, Fraction(1)), (11, Fraction(1))])
        assert got == round((2 * october + december) * WAN)

    def test_growth_is_kept_within_half(self):
        history = [10 * WAN] * 12 + [100 * WAN] * 12  # tenfold: counted as +50%
        assert history_prior(history, [(0, Fraction(1))]) == round((100 * 1.5 + 100) / 2 * WAN)

    def test_a_part_of_a_month_counts_its_share(self):
        # A week with 3 of October's 20 working days and 2 of November's 18.
        history = [0] * 12 + [60 * WAN] * 12
        parts = [(0, Fraction(3, 20)), (1, Fraction(2, 18))]
        assert history_prior(history, parts) == round(60 * WAN * (Fraction(3, 20) + Fraction(2, 18)))

    def test_without_a_known_year_history_cannot_say(self):
        assert history_prior([0] * 13 + [50 * WAN] * 11, self.QUARTER) is None  # 11 months known
        assert history_prior([0] * 24, self.QUARTER) is None
        assert history_prior([0] * 12 + [5, -5] * 6, self.QUARTER) is None  # returns cancel sales
        # A year known, not two: no growth, both halves from the one year.
        assert history_prior([0] * 12 + [40 * WAN] * 12, self.QUARTER) == 120 * WAN

    @FAST
    @given(
        st.lists(st.integers(-(10**9), 10**12), min_size=24, max_size=24),
        st.lists(
            st.tuples(st.integers(0, 11), st.fractions(0, 1, max_denominator=31)), min_size=1, max_size=12
        ),
        st.sampled_from([0, 0, 1, 6, 12, 13]),  # months before the first sale
    )
    def test_equals_the_blend_summed_month_by_month(self, history, parts, unknown):
        """Gathered as (Σ share x month) x (1 + g) and Σ share, the sum is the one the docstring
        defines, each month's blend weighted by its share, exactly."""
        history = [0] * unknown + history[unknown:]
        known = next((i for i, v in enumerate(history) if v != 0), 24)
        recent, before = sum(history[12:]), sum(history[:12])
        growth = Fraction(0)
        if known == 0 and before > 0:
            growth = min(Fraction(1, 2), max(Fraction(-1, 2), Fraction(recent, before) - 1))
        total = sum(
            (
                share * (history[12 + offset] * (1 + growth) + Fraction(recent, 12)) / 2
                for offset, share in parts
            ),
            Fraction(0),
        )
        expected = None if known > 12 or recent <= 0 or round_half_up(total) <= 0 else round_half_up(total)
        assert history_prior(history, parts) == expected

    def test_bad_input(self):
        with pytest.raises(ValueError):
            history_prior([1] * 12, self.QUARTER)
        with pytest.raises(ValueError):
            history_prior([1] * 24, [(12, Fraction(1))])
        with pytest.raises(TypeError):
            history_prior([1.5] * 24, self.QUARTER)

    def test_a_stretch_target_is_not_a_forecast(self):
        # History says 300万 for the quarter and the team is exactly on it half way through; the
        # director's target is 390万 (+30%). Started from the target, the projection was pulled
        # toward 390万 and the chance looked fair; started from history it stays near 300万.
        segments = [month(20, 20), month(20, 10), month(20, 0)]
        half = 150 * WAN
        from_history = pace(half, 390 * WAN, segments, prior=300 * WAN, spread=0.2)
        from_target = pace(half, 390 * WAN, segments, spread=0.2)
        assert from_history.projection == 300 * WAN
        assert from_target.projection > 330 * WAN
        assert from_history.chance < 0.05 < 0.15 < from_target.chance
        # A target equal to the history is what it was.
        assert pace(half, 300 * WAN, segments, prior=300 * WAN) == pace(half, 300 * WAN, segments)

    @given(st.lists(st.integers(0, 10**10), min_size=24, max_size=24), st.integers(1, 1000))
    def test_the_currency_unit_does_not_matter(self, history, k):
        one, scaled = (
            history_prior(history, self.QUARTER),
            history_prior([k * v for v in history], self.QUARTER),
        )
        if one is not None:  # (a prior that rounds to nothing may count once scaled)
            assert scaled is not None and abs(scaled - k * one) <= k


# --- properties -----------------------------------------------------------------------------------


@st.composite
def segment_lists(draw, min_size=0):
    n = draw(st.integers(min_size, 6))
    out = []
    for _ in range(n):
        days = draw(st.integers(0, 23))
        out.append(Segment(draw(st.integers(0, 10**9)), days, draw(st.integers(0, days))))
    return out


def classify(ratio: Fraction) -> str:
    t = Thresholds()
    if ratio < t.warning_line:
        return "at_risk"
    if ratio < t.lagging_below:
        return "lagging"
    return "ahead" if ratio > t.ahead_above else "on_track"


def grow(segments, data):
    """The same segments with some elapsed days moved forward."""
    return [
        Segment(s.weight, s.working_days, data.draw(st.integers(s.elapsed, s.working_days))) for s in segments
    ]


money = st.integers(0, 10**12)
thresholds = st.sampled_from([Thresholds(), LOWER, Thresholds(incentive_line=Fraction(1))])


class TestProperties:
    @FAST
    @given(segment_lists(), st.data())
    def test_expected_share_bounded_and_monotone(self, segments, data):
        s = expected_share(segments)
        assert isinstance(s, Fraction) and 0 <= s <= 1
        assert expected_share(grow(segments, data)) >= s

    @FAST
    @given(segment_lists(min_size=1))
    def test_expected_share_is_one_when_complete(self, segments):
        assume(sum(s.working_days for s in segments) > 0)
        complete = [Segment(s.weight, s.working_days, s.working_days) for s in segments]
        assert expected_share(complete) == 1

    @FAST
    @given(st.integers(-(10**9), 10**12), st.one_of(st.none(), money), segment_lists(), thresholds)
    def test_outputs_are_typed_and_consistent(self, actual, target, segments, t):
        p = pace(actual, target, segments, floor=target, stretch=None, thresholds=t)
        assert isinstance(p, Pace) and p.status in STATUSES
        for value in (p.gap, p.expected_to_date, p.run_rate, p.seasonal, p.projection, p.required_per_day):
            assert value is None or (isinstance(value, int) and not isinstance(value, bool))
        assert isinstance(p.remaining_days, int) and p.remaining_days >= 0
        assert 0 <= p.time_progress <= 1
        if target is None:
            assert p.status == "no_target" and p.chance is None and p.projection is None
        else:
            assert 0 <= p.expected_to_date <= target
            assert isinstance(p.chance, float) and 0.0 <= p.chance <= 1.0

    @FAST
    @given(st.integers(-(10**9), 10**12), money, segment_lists())
    def test_reached_iff_actual_at_least_target(self, actual, target, segments):
        p = pace(actual, target, segments)
        assert (p.status == "reached") == (actual >= target)

    @FAST
    @given(st.integers(-(10**9), 10**12), money, segment_lists())
    def test_lower_is_better_reached_only_at_the_end_within_budget(self, actual, target, segments):
        p = pace(actual, target, segments, thresholds=LOWER)
        assert (p.status == "reached") == (p.expected_share == 1 and actual <= target)
        if p.status not in ("reached", "not_started"):
            if actual <= 0:
                assert p.pace is None and p.status == "ahead"
            else:
                assert p.pace == Fraction(p.expected_to_date, actual)
                assert p.status == classify(p.pace)

    @FAST
    @given(st.integers(-(10**9), 10**12), money, segment_lists())
    def test_required_per_day_is_just_enough(self, actual, target, segments):
        p = pace(actual, target, segments)
        if p.remaining_days == 0:
            assert p.required_per_day is None
            return
        need = target - actual
        assert p.required_per_day * p.remaining_days >= need
        if need > 0:
            assert (p.required_per_day - 1) * p.remaining_days < need
        else:
            assert p.required_per_day == 0

    @FAST
    @given(st.integers(-(10**9), 10**12), money, segment_lists())
    def test_lower_is_better_allowance_stays_within_budget(self, actual, target, segments):
        p = pace(actual, target, segments, thresholds=LOWER)
        if p.remaining_days:
            assert actual + p.required_per_day * p.remaining_days <= max(actual, target)
            assert actual + (p.required_per_day + 1) * p.remaining_days > max(actual, target)

    @FAST
    @given(st.integers(0, 10**12), money, money, segment_lists())
    def test_chance_does_not_rise_with_the_target(self, actual, a, b, segments):
        low, high = sorted((a, b))
        assert pace(actual, low, segments).chance >= pace(actual, high, segments).chance
        # and the mirror: a bigger budget is never harder to keep. A zero budget is the exception
        # (nothing more expected, so nothing uncertain), hence low > 0 there.
        if low > 0:
            kept = pace(actual, low, segments, thresholds=LOWER).chance
            assert kept <= pace(actual, high, segments, thresholds=LOWER).chance

    @FAST
    @given(st.integers(0, 10**12), money, money, segment_lists(), st.integers(1, 10**12))
    def test_from_a_prior_the_projection_ignores_the_target_and_the_chance_falls_with_it(
        self, actual, a, b, segments, prior
    ):
        low, high = sorted((a, b))
        lo, hi = pace(actual, low, segments, prior=prior), pace(actual, high, segments, prior=prior)
        assert lo.projection == hi.projection
        assert lo.chance >= hi.chance
        if low > 0:
            kept = pace(actual, low, segments, prior=prior, thresholds=LOWER).chance
            assert kept <= pace(actual, high, segments, prior=prior, thresholds=LOWER).chance

    @FAST
    @given(st.integers(-(10**9), 10**12), st.one_of(st.none(), money), segment_lists(), thresholds)
    def test_without_projecting_only_the_projection_and_chance_are_left_out(
        self, actual, target, segments, t
    ):
        full, lean = (
            pace(actual, target, segments, thresholds=t),
            pace(actual, target, segments, thresholds=t, project=False),
        )
        assert lean.projection is None and lean.chance is None
        assert lean == dataclasses.replace(full, projection=None, chance=None)

    @FAST
    @given(st.integers(-(10**9), 10**12), money, segment_lists())
    def test_higher_status_follows_the_thresholds(self, actual, target, segments):
        p = pace(actual, target, segments)
        if p.status in ("reached", "not_started"):
            assert (p.status == "not_started") == (actual < target and p.expected_to_date == 0)
            return
        assert p.pace == Fraction(actual, p.expected_to_date)
        assert p.status == classify(p.pace)
