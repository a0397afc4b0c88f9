"""Progress of a target during its period (进度跟踪): "月度进度75%，时间过半需加速".

A straight line in calendar days misleads twice: the Spring Festival month has a third fewer working
days, and a plan that puts 40% of a quarter in its last month does not expect half of it by mid-quarter.
So time progress is counted in working days, and what should have been done by now (the expected share)
follows the plan's own profile: the period is cut into segments (usually its months), each with its
share of the target and its working days, and within a segment the target is expected evenly per
working day.

Money stays integer fen and ratios stay exact Fractions, so "expected to date" and "needed per day" are
the same figures finance gets by hand; only the chance of reaching the target is a float, because it
comes from a normal distribution and is shown as a rounded percentage anyway.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .rounding import round_half_up

STATUSES = ("reached", "ahead", "on_track", "lagging", "at_risk", "not_started", "no_target")

# The relative sd of a period's outcome at its start where the node's own history cannot say (see
# spread_of): replayed Superstore months and quarters calibrate at this one value pooled over all
# their nodes (bench/tracking_calibration.py; figures in bench/RESULTS.md).
SPREAD = 0.45
MIN_HISTORY = 6  # months of history spread_of needs
HISTORY_FACTOR = 0.75  # the share of the history's variation left in a blended projection
PRIOR_MONTHS = 24  # months of history history_prior reads: the last year and the year before
GROWTH_CLIP = Fraction(1, 2)  # history_prior's growth, kept within ±50%


@dataclass(frozen=True)
class Segment:
    """A stretch of the period with its own share of the target (e.g. one month of the plan)."""

    weight: int  # its target in minor units (or any non-negative weight)
    working_days: int  # working days in it (>= 0)
    elapsed: int  # its working days already past at the as-of date (0..working_days)


@dataclass(frozen=True)
class Thresholds:
    """The plan's lines on the pace (and, for the incentive, on achievement)."""

    lagging_below: Fraction = Fraction(8, 10)  # pace below this: lagging
    ahead_above: Fraction = Fraction(12, 10)  # pace above this: ahead
    warning_line: Fraction = Fraction(6, 10)  # 预警线: pace below this: at_risk
    incentive_line: Fraction | None = None  # 激励线: achievement at or above it -> Pace.incentive True
    lower_is_better: bool = False  # e.g. costs, days sales outstanding


@dataclass(frozen=True)
class Pace:
    """Every figure of one node against its target at one as-of date; see :func:`pace`."""

    actual: int
    target: int | None
    floor: int | None
    stretch: int | None
    achievement: Fraction | None
    gap: int | None
    time_progress: Fraction
    expected_share: Fraction
    expected_to_date: int | None
    pace: Fraction | None
    run_rate: int | None
    seasonal: int | None
    projection: int | None
    chance: float | None
    remaining_days: int
    required_per_day: int | None
    status: str
    incentive: bool


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check(segments: Sequence[Segment]) -> None:
    for i, s in enumerate(segments):
        if not (_is_int(s.weight) and _is_int(s.working_days) and _is_int(s.elapsed)):
            raise TypeError(f"segment {i}: weight, working_days and elapsed must be integers, got {s!r}")
        if s.weight < 0:
            raise ValueError(f"segment {i}: weight must not be negative, got {s.weight}")
        if s.working_days < 0:
            raise ValueError(f"segment {i}: working_days must not be negative, got {s.working_days}")
        if not 0 <= s.elapsed <= s.working_days:
            raise ValueError(
                f"segment {i}: elapsed must be between 0 and its {s.working_days} working days, got {s.elapsed}"
            )


def _done(segments: Sequence[Segment]) -> list[tuple[int, int]]:
    """How much of each segment is behind us, 0..1, as (numerator, denominator).

    A segment without working days (a month swallowed by holidays) has no inside to progress through,
    so it is all or nothing: it is behind us once a working day after it has elapsed, or once no working
    day of the whole period is left (it is then the end of the period as working days count time).
    """
    left = any(s.elapsed < s.working_days for s in segments)
    out: list[tuple[int, int]] = []
    later_started = False
    for s in reversed(segments):
        if s.working_days:
            out.append((s.elapsed, s.working_days))
        else:
            out.append((1 if later_started or not left else 0, 1))
        later_started = later_started or s.elapsed > 0
    return out[::-1]


def expected_share(segments: Sequence[Segment]) -> Fraction:
    """The share of the target the plan expects by now: the weighted mean of how far each segment is.

    Even within a segment, uneven between segments: that is the plan's seasonal profile, which a straight
    line over the period would ignore. Zero-day segments follow :func:`_done`. With all weights zero
    (no target anywhere yet) it falls back to a straight line in working days; with no working days at
    all it is 0, since working days then cannot tell whether the period has begun. The result lies in
    [0, 1], never falls when an ``elapsed`` grows and is 1 once every segment is over.
    """
    _check(segments)
    if sum(s.working_days for s in segments) == 0:
        return Fraction(0)
    done = _done(segments)
    weights = [s.weight for s in segments]
    if sum(weights) == 0:
        weights = [s.working_days for s in segments]
    # Over one common denominator: a whole-company table asks this of every node, and a Fraction
    # per segment was a third of its time.
    common = math.lcm(*(d for _n, d in done))
    behind = sum(w * n * (common // d) for w, (n, d) in zip(weights, done, strict=True))
    return Fraction(behind, common * sum(weights))


def normal_chance(mean: float, sd: float, threshold: float) -> float:
    """P(X >= threshold) for X ~ N(mean, sd); erfc keeps the far tail accurate where 1 - Φ would not."""
    if sd < 0 or math.isnan(sd):
        raise ValueError(f"sd must be a non-negative number, got {sd}")
    if sd == 0:
        return 1.0 if mean >= threshold else 0.0
    return _above((threshold - mean) / sd)


def _above(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return min(1.0, max(0.0, 0.5 * math.erfc(z / math.sqrt(2))))


def spread_of(history: Sequence[int], months: float) -> float:
    """The relative sd of a period's outcome, from the node's own monthly totals before it.

    A big team's month is steady, a new rep's lumpy: one spread for everyone made the chance of
    the first too modest and of the second too sure. The coefficient of variation of the node's
    months, scaled to the period's length (a quarter averages three months out: / √3), measures
    that; the blended projection is better than a plain month-by-month guess, so the sd is
    :data:`HISTORY_FACTOR` of it. The factor was chosen on replayed Superstore and holds on the
    demo company, held out (bench/tracking_calibration.py, bench/RESULTS.md).
    Months before the first sale are not known to be quiet, so they are left out; with fewer
    than MIN_HISTORY months left, or nothing sold, the pooled :data:`SPREAD` stands in.
    """
    if months <= 0:
        raise ValueError(f"months must be positive, got {months}")
    values = list(history)
    while values and values[0] == 0:
        values.pop(0)
    if len(values) < MIN_HISTORY:
        return SPREAD
    mean = sum(values) / len(values)
    if mean <= 0:
        return SPREAD
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return HISTORY_FACTOR * sd / mean / math.sqrt(months)


def change(current: int, previous: int | None) -> Fraction | None:
    """同比/环比 as an exact ratio; None where there is nothing to compare with (no or zero base)."""
    if previous is None or previous == 0:
        return None
    return Fraction(current - previous, previous)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def history_prior(history: Sequence[int], parts: Sequence[tuple[int, Fraction]]) -> int | None:
    """What the node's own history says the period will bring, before any of it is seen: the
    level the projection starts from (see :func:`_projection`).

    The target is not a forecast. A director who sets "last year + 30%" sets it to stretch the
    team, and a projection that starts from it, trusting the pace seen only as the period fills,
    told a team heading for last year's figure that it had an even chance of the stretch; replayed,
    targets 30% above history given a 50% chance were reached a quarter of the time
    (bench/tracking_calibration.py, bench/RESULTS.md). So the projection starts from history and
    the target only decides what counts as reaching it.

    ``history``: the node's totals of the :data:`PRIOR_MONTHS` months before the month the period
    starts in, oldest first; months before its first non-zero one are unknown, not quiet.
    ``parts``: each month the period touches, as (months after the period's first month, the share
    of that month's working days inside the period). Each month counts as a planner's "blend" of
    it: half the same month last year x (1 + g), g the last 12 months over the 12 before (within
    ±50%, 0 unless both years are known), and half a twelfth of the last 12 months. None where the
    last 12 months are not all known or add up to nothing: the target then stands in.
    """
    values = list(history)
    if len(values) != PRIOR_MONTHS:
        raise ValueError(f"history must hold {PRIOR_MONTHS} months, got {len(values)}")
    if any(not _is_int(v) for v in values):
        raise TypeError("history must hold integer amounts in minor units")
    known = next((i for i, v in enumerate(values) if v != 0), PRIOR_MONTHS)
    recent, before = sum(values[12:]), sum(values[:12])
    if known > 12 or recent <= 0:
        return None
    growth = Fraction(0)
    if known == 0 and before > 0:
        growth = min(GROWTH_CLIP, max(-GROWTH_CLIP, Fraction(recent, before) - 1))
    # The sum over the months of share x (last year's month x (1 + g) + recent / 12) / 2, gathered
    # as (Σ share x month) x (1 + g) and Σ share: whole months add up as integers, and a
    # region's progress asks this of each of its 125 nodes (most of its fractions were here).
    whole_sum, whole_count = 0, 0
    part_sum, part_count = Fraction(0), Fraction(0)
    for offset, share in parts:
        if not 0 <= offset < 12 or not 0 <= share <= 1:
            raise ValueError(
                f"a part must be a month 0-11 into the period and a share 0-1, got {offset}, {share}"
            )
        if share == 1:
            whole_sum += values[12 + offset]
            whole_count += 1
        elif share:
            part_sum += share * values[12 + offset]
            part_count += share
    total = ((whole_sum + part_sum) * (1 + growth) + (whole_count + part_count) * Fraction(recent, 12)) / 2
    prior = round_half_up(total)
    return prior if prior > 0 else None


def _projection(
    actual: int, target: int, share: Fraction, spread: float, lower: bool, prior: int | None
) -> tuple[int, float]:
    """Blended projection and chance of making the target.

    The period is expected to bring ``base``: the node's history (``prior``, see
    :func:`history_prior`), or the target where history cannot say. The remainder still expected,
    ``base * (1 - s)``, is scaled by the pace seen so far against it, trusted with credibility
    ``w = s²``, ``s`` being the share of the period's expected volume already seen (by the plan's
    profile): one good week says little, and a pace over half the period still carries much of the
    noise a straight run-rate suffers from. Replaying Superstore (bench/tracking_calibration.py)
    put ``s²`` ahead of ``s`` and ``√s`` at a quarter, half and three quarters of months and
    quarters.

    The uncertainty is a normal with sd ``spread * base * √(1 - s)``: it shrinks as the period
    closes, but more slowly than the remaining volume itself, because the last weeks of a period are
    where deals slip or land (``(1 - s)^1.5`` left late-period targets at p≈0.8 reached 2 times in 3).

    With a prior, the projection does not depend on the target, so a higher target can only be
    less likely. Without one, the observed pace is taken against the exact ``target * s``, not the
    rounded expected_to_date: the rounding would make the chance jump up when a larger target first
    expects one fen, so a higher target could look easier to reach; with it, the chance never rises
    with the target either (for actual >= 0).
    """
    base = target if prior is None else prior
    remaining = base * (1 - share)
    if share > 0 and base > 0:
        observed = Fraction(actual) / (base * share)
        trust = share * share
        rest = remaining * (trust * observed + (1 - trust))
    else:
        rest = remaining
    point = actual + rest
    if not lower and actual >= target:
        # Reached is reached: the status says so, and "99%" beside it reads as a doubt that only
        # a refund could justify (the replay's chances are of targets not yet reached).
        return round_half_up(point), 1.0
    if remaining <= 0 or spread == 0:
        reached = point <= target if lower else point >= target
        return round_half_up(point), 1.0 if reached else 0.0
    # z = (target - point) / sd; the target-dependent part stays exact so that float rounding cannot
    # make the chance wobble between neighbouring targets.
    z = float((target - point) / base) / (spread * math.sqrt(float(1 - share)))
    chance = _above(-z) if lower else _above(z)
    return round_half_up(point), chance


def _status(
    actual: int,
    target: int | None,
    share: Fraction,
    expected: int | None,
    ratio: Fraction | None,
    t: Thresholds,
) -> str:
    if target is None or expected is None:
        return "no_target"
    if t.lower_is_better:
        # A budget is only met when the period is over: spending little early proves nothing.
        if share == 1 and actual <= target:
            return "reached"
    elif actual >= target:
        return "reached"
    if expected == 0:
        return "not_started"
    if ratio is None:  # lower is better and nothing (or less than nothing) spent yet
        return "ahead"
    if ratio < t.warning_line:
        return "at_risk"
    if ratio < t.lagging_below:
        return "lagging"
    if ratio > t.ahead_above:
        return "ahead"
    return "on_track"


def pace(
    actual: int,
    target: int | None,
    segments: Sequence[Segment],
    *,
    floor: int | None = None,
    stretch: int | None = None,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen, so a shared default is safe
    spread: float = SPREAD,
    prior: int | None = None,
    project: bool = True,
) -> Pace:
    """Where ``actual`` stands against ``target`` at the as-of date the segments' ``elapsed`` describe.

    Pace is actual against what the plan expected by now (inverted when lower is better, so above 1 is
    always good). Three projections to the period's end answer different questions: ``run_rate`` (the
    days so far repeated, blind to the season), ``seasonal`` (the plan's profile kept, scaled by the
    result so far) and ``projection`` (the blend behind ``chance``, see :func:`_projection`), which
    starts from ``prior``, what the node's history expects of the period (:func:`history_prior`),
    or from the target without one.

    ``required_per_day`` is what is still needed per remaining working day, rounded up to the fen so that
    doing it exactly reaches the target; when lower is better it is the most that may still be spent per
    day, rounded down so that staying within it stays within the target. ``spread`` is the relative
    standard deviation of the period's outcome at its start (see :data:`SPREAD`). ``project=False``
    leaves ``projection`` and ``chance`` None: a ranking of thousands of reps needs neither.
    """
    if not _is_int(actual):
        raise TypeError(f"actual must be an integer amount in minor units, got {actual!r}")
    if target is not None and (not _is_int(target) or target < 0):
        raise ValueError(f"target must be a non-negative integer in minor units or None, got {target!r}")
    if not spread >= 0:
        raise ValueError(f"spread must not be negative, got {spread}")
    if prior is not None and (not _is_int(prior) or prior <= 0):
        raise ValueError(f"prior must be a positive integer in minor units or None, got {prior!r}")
    t = thresholds
    lower = t.lower_is_better
    share = expected_share(segments)
    total_days = sum(s.working_days for s in segments)
    elapsed_days = sum(s.elapsed for s in segments)
    remaining_days = total_days - elapsed_days
    time_progress = Fraction(elapsed_days, total_days) if total_days else Fraction(0)
    run_rate = round_half_up(Fraction(actual * total_days, elapsed_days)) if elapsed_days else None
    seasonal = round_half_up(actual / share) if share else None

    achievement = gap = expected = ratio = projection = required = None
    chance: float | None = None
    if target is not None:
        achievement = Fraction(actual, target) if target else None
        gap = actual - target if lower else target - actual
        expected = round_half_up(target * share)
        if lower:
            ratio = Fraction(expected, actual) if actual > 0 else None
        else:
            ratio = Fraction(actual, expected) if expected else None
        if project:
            projection, chance = _projection(actual, target, share, spread, lower, prior)
        if remaining_days:
            left = max(0, target - actual)
            required = left // remaining_days if lower else _ceil_div(left, remaining_days)
    incentive = t.incentive_line is not None and achievement is not None and achievement >= t.incentive_line
    return Pace(
        actual=actual,
        target=target,
        floor=floor,
        stretch=stretch,
        achievement=achievement,
        gap=gap,
        time_progress=time_progress,
        expected_share=share,
        expected_to_date=expected,
        pace=ratio,
        run_rate=run_rate,
        seasonal=seasonal,
        projection=projection,
        chance=chance,
        remaining_days=remaining_days,
        required_per_day=required,
        status=_status(actual, target, share, expected, ratio, t),
        incentive=incentive,
    )
