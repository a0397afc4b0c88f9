"""Allocation of an integer parent target over children, exactly and explainably.

Money is integer fen throughout: a plan whose children do not add up to the parent by a single fen is
rejected by finance, so every method ends in `apportion` (largest remainder on exact integer arithmetic)
and every result sums exactly to what it should.

A method is a *basis* builder (``by_history``, ``by_seasonality``, ...) producing weights plus the inputs
and notes that explain them; ``allocate`` then applies the constraints common to all methods (rounding
unit, locks and manual overrides, min/max bounds, over-assignment) in one place, so they behave the same
whichever method the planner picked.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from .calendar import Period, add_months
from .defaults import DEFAULT_RAMP, DEFAULT_TIER_MULTIPLIERS
from .explain import Explanation, Note, note
from .rounding import largest_remainder, round_half_up

_INT64_MAX = np.iinfo(np.int64).max
# "No maximum": large enough for any plan, small enough that a few of them still add up in int64.
_UNBOUNDED = _INT64_MAX // 1024
PROFILE_TOLERANCE_PCT = 0.01


class AllocationError(ValueError):
    """An allocation that cannot be made as asked; `nodes` names the children responsible."""

    def __init__(self, message: str, nodes: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.nodes = list(nodes)


def _check_total(total: Any, what: str = "total") -> int:
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)):
        raise TypeError(f"{what} must be an integer amount in fen, got {total!r}")
    if total < 0:
        raise ValueError(f"{what} must not be negative (targets are non-negative), got {total}")
    return int(total)


def _check_weights(weights: Any, n: int | None = None) -> np.ndarray:
    w = np.asarray(weights)
    if w.ndim != 1:
        raise ValueError(f"weights must be one-dimensional, got shape {w.shape}")
    if n is not None and w.size != n:
        raise ValueError(f"expected {n} weights, got {w.size}")
    if w.dtype.kind not in "iuf" and w.size:
        raise TypeError(f"weights must be numeric, got dtype {w.dtype}")
    if w.dtype.kind == "f" and not np.isfinite(w).all():
        raise ValueError("weights must be finite")
    if (w < 0).any():
        raise ValueError("weights must not be negative")
    return w


def _exact_integers(w: np.ndarray) -> list[int]:
    """The weights as integers with exactly the same ratios (floats are binary fractions)."""
    if w.dtype.kind in "iu":
        return [int(x) for x in w.tolist()]
    ratios = [float(x).as_integer_ratio() for x in w.tolist()]
    den = max((d for _, d in ratios), default=1)
    return [n * (den // d) for n, d in ratios]


def _fraction(x: float | int | Decimal | str) -> Fraction:
    """Read factors as the decimals people typed (1.1 means 11/10, not the nearest binary float)."""
    return Fraction(str(x)) if isinstance(x, float) else Fraction(x)


def apportion(total: int, weights: Any, *, unit: int = 1) -> np.ndarray:
    """Split `total` over `weights` by the largest-remainder (Hamilton) method; exact sum, int64 result.

    Quotas ``total * w_i / sum(w)`` are taken in multiples of `unit`; the units left after flooring go to
    the largest fractional remainders (ties to the lower index), and the part of `total` that is not a
    multiple of `unit` goes to the next child in that order, so every child is a multiple of `unit` except
    at most one. The arithmetic is exact (float weights are converted to the integers they represent),
    which makes the result deterministic, monotone in each weight and idempotent: apportioning a result
    with itself as weights returns it unchanged.
    """
    total = _check_total(total)
    if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or unit < 1:
        raise ValueError(f"unit must be a positive integer number of fen, got {unit!r}")
    w = _check_weights(weights)
    out = np.zeros(w.size, dtype=np.int64)
    if total == 0:
        return out
    ints = _exact_integers(w)
    weight_sum = sum(ints)
    if weight_sum == 0:
        raise AllocationError("all weights are zero, so there is nothing to split the total by")
    den = weight_sum * int(unit)
    if total * max(ints) > _INT64_MAX or den > _INT64_MAX:
        out[:] = largest_remainder(total, ints, int(unit))
        return out
    num = np.array(ints, dtype=np.int64) * total
    floors, rems = num // den, num % den
    positive = np.flatnonzero(num > 0)
    order = positive[np.lexsort((positive, -rems[positive]))]
    units, remainder = divmod(total, int(unit))
    leftover = units - int(floors.sum())
    out[:] = floors * unit
    out[order[:leftover]] += unit
    if remainder:
        out[order[leftover]] += remainder
    return out


def apportion_each(totals: Sequence[int], weights: Sequence[int]) -> list[list[int]]:
    """Each of many totals (>= 0) split over the same integer weights exactly as
    :func:`largest_remainder` splits it, in one pass over all of them: thousands of reps' year
    targets over the year's months (a rank), where a call each cost more than the ranking.

    A total large enough to overflow int64 with the weights is split by itself, in Python."""
    ints = [int(w) for w in weights]
    den = sum(ints)
    if den <= 0 or min(ints) < 0:
        raise AllocationError("weights must be >= 0 with a positive sum")
    limit = _INT64_MAX // max(max(ints), 1)
    out: list[list[int] | None] = [None] * len(totals)
    small = []
    for i, total in enumerate(totals):
        if total <= limit:
            small.append(i)
        else:
            out[i] = largest_remainder(total, ints)
    if small:
        t = np.array([totals[i] for i in small], dtype=np.int64)
        num = t[:, None] * np.array(ints, dtype=np.int64)[None, :]
        floors, rems = num // den, num % den
        leftover = t - floors.sum(axis=1)
        # The largest remainders first, ties to the lower index (a stable sort of -remainder);
        # the leftover units never reach a zero remainder, so zero weights get none.
        order = np.argsort(-rems, axis=1, kind="stable")
        place = np.empty_like(order)
        np.put_along_axis(place, order, np.arange(len(ints))[None, :], axis=1)
        split = (floors + (place < leftover[:, None])).tolist()
        for i, row in zip(small, split, strict=True):
            out[i] = row
    return out


@dataclass
class Basis:
    """Weights from one method, with what explains them; notes refer to children by index until
    ``allocate`` knows the labels."""

    method: str
    weights: np.ndarray
    inputs: dict[str, Any] = field(default_factory=dict)
    adjustments: list[Note] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)
    total: int | None = None


@dataclass
class Allocation:
    values: np.ndarray
    labels: list[str]
    explanation: Explanation

    @property
    def total(self) -> int:
        return int(self.values.sum())

    def __getitem__(self, label: str) -> int:
        return int(self.values[self.labels.index(label)])

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self.labels, (int(v) for v in self.values), strict=True))


def _indexed(code: str, indices: np.ndarray | Sequence[int], **params: Any) -> Note:
    return Note(code, {"indices": [int(i) for i in indices], **params})


def _resolve(n: Note, labels: Sequence[str]) -> Note:
    """Replace child indices by labels once they are known."""
    if "indices" not in n.params:
        return n
    params = {k: v for k, v in n.params.items() if k != "indices"}
    params["labels"] = [labels[i] for i in n.params["indices"]]
    return Note(n.code, params)


def even(n: int) -> Basis:
    return Basis("even", np.ones(n, dtype=np.int64))


def by_weights(weights: Any) -> Basis:
    w = _check_weights(weights)
    return Basis("weights", w, {"weights": w.tolist()})


def by_history(
    history: Any,
    *,
    recency: Sequence[float] | None = None,
    min_share: float | None = None,
    min_share_of: Literal["average", "total"] = "average",
) -> Basis:
    """比例分解法: each child's average share of past periods (nodes x periods, oldest first).

    Shares are computed per period and then averaged (weighted by `recency`, e.g. ``[1, 2, 3]`` to trust
    the latest year most) rather than summing sales first, so one boom year does not dominate. Children
    with no history at all get `min_share` (of the average existing share, or of the total) when given;
    otherwise they get nothing and a warning says so, since a silent zero target is a planning error.
    Negative history (net returns) counts as zero.
    """
    h = np.array(history, dtype=np.float64)
    if h.ndim != 2:
        raise ValueError(f"history must be a nodes x periods matrix, got shape {h.shape}")
    if not np.isfinite(h).all():
        raise ValueError("history must be finite")
    n, periods = h.shape
    r = np.ones(periods) if recency is None else np.asarray(recency, dtype=np.float64)
    if r.shape != (periods,) or (r < 0).any() or not np.isfinite(r).all():
        raise ValueError(f"recency must be {periods} non-negative weights, one per history period")
    warnings: list[Note] = []
    adjustments: list[Note] = []
    negative = (h < 0).any(axis=1)
    if negative.any():
        warnings.append(_indexed("negative_history", np.flatnonzero(negative)))
        h = np.maximum(h, 0.0)
    period_totals = h.sum(axis=0)
    used = (period_totals > 0) & (r > 0)
    shares = np.zeros(n)
    if used.any():
        per_period = h[:, used] / period_totals[used]
        shares = per_period @ r[used] / r[used].sum()
    new = h.sum(axis=1) == 0
    inputs: dict[str, Any] = {
        "periods": periods,
        "recency": r.tolist(),
        "min_share": min_share,
        "min_share_of": min_share_of,
    }
    if new.any() and min_share is not None:
        if min_share_of not in ("average", "total"):
            raise ValueError(f"min_share_of must be 'average' or 'total', got {min_share_of!r}")
        if not 0 < min_share < 1:
            raise ValueError(f"min_share must be between 0 and 1, got {min_share}")
        existing = shares[~new]
        share = min_share * (existing.mean() if existing.size and min_share_of == "average" else 1.0)
        if share * new.sum() >= 1:
            raise AllocationError(
                f"{int(new.sum())} new children at a minimum share of {share:.2%} leave nothing"
            )
        if existing.size and existing.sum() > 0:
            shares = shares * (1 - share * new.sum())
            shares[new] = share
        else:
            shares[new] = 1.0
        adjustments.append(_indexed("min_share", np.flatnonzero(new), share=float(share)))
    elif new.any():
        warnings.append(_indexed("no_history", np.flatnonzero(new)))
    return Basis("history", shares, inputs, adjustments, warnings)


def seasonal_profile(history: Any, history_days: Any, target_days: Any) -> np.ndarray:
    """Working-day-adjusted seasonal shares for the target periods (years x periods inputs).

    Each past year's sales per working day are turned into an index relative to that year's own mean
    (so growth between years does not weight years unequally), the indices are averaged over years and
    multiplied by the target year's working days. A Spring Festival that moves from February to January
    therefore moves the target with it instead of smearing the average of past years.
    """
    sales = np.array(history, dtype=np.float64, ndmin=2)
    days = np.array(history_days, dtype=np.float64, ndmin=2)
    target = np.asarray(target_days, dtype=np.float64)
    if sales.shape != days.shape or sales.ndim != 2 or target.shape != sales.shape[1:]:
        raise ValueError(
            f"history {sales.shape} and history_days {days.shape} must be years x periods and target_days "
            f"{target.shape} one row of periods"
        )
    if (days < 0).any() or (target < 0).any() or not np.isfinite(sales).all():
        raise ValueError("working days must be non-negative and history finite")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(days > 0, np.maximum(sales, 0.0) / days, np.nan)
        year_mean = np.nansum(rate, axis=1, keepdims=True) / np.isfinite(rate).sum(axis=1, keepdims=True)
        index = np.where(year_mean > 0, rate / year_mean, np.nan)
        counted = np.isfinite(index).sum(axis=0)
        mean_index = np.nansum(index, axis=0) / counted
    if not np.isfinite(index).any():
        raise AllocationError("no past year has sales on working days, so there is no seasonal pattern")
    missing = np.flatnonzero(np.isnan(mean_index) & (target > 0))
    if missing.size:
        raise AllocationError(f"periods {missing.tolist()} have working days but no history in any year")
    weights = np.nan_to_num(mean_index) * target
    return weights / weights.sum() if weights.sum() > 0 else weights


def by_seasonality(history: Any, history_days: Any, target_days: Any) -> Basis:
    """季节性 over time periods; see `seasonal_profile` for the maths."""
    weights = seasonal_profile(history, history_days, target_days)
    inputs = {
        "years": int(np.array(history, ndmin=2).shape[0]),
        "target_days": np.asarray(target_days).tolist(),
    }
    return Basis("seasonality", weights, inputs)


def by_profile(percents: Any) -> Basis:
    """A hand-made distribution (e.g. 12 monthly percentages) that must total 100% ± 0.01%."""
    p = np.asarray(percents, dtype=np.float64)
    if p.ndim != 1 or not np.isfinite(p).all() or (p < 0).any():
        raise AllocationError("a profile must be a list of non-negative percentages")
    total = float(p.sum())
    if abs(total - 100.0) > PROFILE_TOLERANCE_PCT:
        raise AllocationError(f"profile sums to {total:.4f}%, it must total 100% (±{PROFILE_TOLERANCE_PCT}%)")
    return Basis("profile", p, {"percents": p.tolist()})


@dataclass(frozen=True)
class Capacity:
    """What a seat can carry: tier, headcount, market potential and the start date for the ramp.

    A vacancy is a seat to be hired; its `start` is the expected start date, so it ramps like a new hire.
    """

    tier: str | None = None
    headcount: float = 1.0
    potential: float | None = None
    start: dt.date | None = None
    vacancy: bool = False


def ramp_factor(start: dt.date | None, month: dt.date, curve: Sequence[float] = DEFAULT_RAMP) -> float:
    """Share of a full target for the month containing `month`; the start month counts as month 1."""
    if start is None:
        return 1.0
    months_in = (month.year - start.year) * 12 + month.month - start.month + 1
    if months_in <= 0:
        return 0.0
    return float(curve[min(months_in, len(curve)) - 1])


def _period_ramp(start: dt.date | None, period: Period, curve: Sequence[float]) -> float:
    """Average monthly ramp over a period, so an annual weight reflects the months actually worked."""
    if start is None:
        return 1.0
    first = dt.date(period.start.year, period.start.month, 1)
    months = (period.end.year - first.year) * 12 + period.end.month - first.month + 1
    return sum(ramp_factor(start, add_months(first, i), curve) for i in range(months)) / months


def by_capability(
    capacities: Sequence[Capacity],
    *,
    period: Period | None = None,
    tier_multipliers: Mapping[str, float] = DEFAULT_TIER_MULTIPLIERS,
    ramp: Sequence[float] = DEFAULT_RAMP,
) -> Basis:
    """能力/资源匹配法: weight = tier multiplier x headcount x ramp x market potential.

    The ramp is evaluated for `period`: for a month it is that month's factor (so allocating each month
    separately gives a new hire a rising monthly target), for longer periods the mean of the monthly
    factors. Potential must be given for all children or none, because mixing it with an implicit 1
    compares incomparable scales.
    """
    if not ramp or any(not 0 <= f <= 1 for f in ramp):
        raise ValueError("ramp must be a non-empty list of fractions between 0 and 1")
    potentials = [c.potential for c in capacities]
    if any(p is None for p in potentials) and any(p is not None for p in potentials):
        raise ValueError("market potential must be given for every child or for none")
    starts = [c.start for c in capacities if c.start is not None]
    if starts and period is None:
        raise ValueError("a period is needed to apply the new-hire ramp")
    weights = np.empty(len(capacities))
    adjustments: list[Note] = []
    for i, c in enumerate(capacities):
        if c.tier is not None and c.tier not in tier_multipliers:
            raise ValueError(f"unknown tier {c.tier!r}; known tiers: {sorted(tier_multipliers)}")
        if c.headcount < 0 or (c.potential is not None and c.potential < 0):
            raise ValueError("headcount and potential must not be negative")
        tier = 1.0 if c.tier is None else float(tier_multipliers[c.tier])
        factor = 1.0 if period is None else _period_ramp(c.start, period, ramp)
        weights[i] = tier * c.headcount * factor * (1.0 if c.potential is None else c.potential)
        if c.vacancy and c.start is not None:
            adjustments.append(_indexed("vacancy", [i], start=c.start))
        if c.tier is not None:
            adjustments.append(_indexed("tier", [i], tier=c.tier, multiplier=tier))
        if factor < 1:
            adjustments.append(_indexed("ramp", [i], factor=factor))
    inputs = {
        "tier_multipliers": dict(tier_multipliers),
        "ramp": list(ramp),
        "period": None if period is None else period.label("en"),
    }
    return Basis("capability", weights, inputs, adjustments)


def by_growth(last: Any, growth: float | Sequence[float]) -> Basis:
    """Last year x (1 + g), offered because planners ask for it and flagged as naive in the result.

    The suggested total is the exact rounded sum, so ``allocate(None, labels, by_growth(...))`` works.
    """
    values = np.asarray(last)
    if values.ndim != 1 or values.dtype.kind not in "iu" or (values < 0).any():
        raise ValueError("last year's actuals must be non-negative integer fen, one per child")
    rates = [growth] * values.size if isinstance(growth, (int, float, Decimal, str)) else list(growth)
    if len(rates) != values.size:
        raise ValueError(f"expected {values.size} growth rates, got {len(rates)}")
    factors = [1 + _fraction(g) for g in rates]
    if any(f < 0 for f in factors):
        raise ValueError("growth below -100% would make a negative target")
    exact = [int(v) * f for v, f in zip(values.tolist(), factors, strict=True)]
    den = math.lcm(*(x.denominator for x in exact)) if exact else 1
    scaled = [int(x * den) for x in exact]
    fits = max(scaled, default=0) <= _INT64_MAX
    weights = np.array(scaled, dtype=np.int64) if fits else np.array([float(x) for x in exact])
    inputs = {"last": values.tolist(), "growth": [float(g) for g in rates]}
    return Basis("growth", weights, inputs, warnings=[note("naive_growth")], total=round_half_up(sum(exact)))


def _bounded(
    total: int, weights: np.ndarray, lo: np.ndarray, hi: np.ndarray, unit: int
) -> tuple[np.ndarray, np.ndarray]:
    """Proportional split within [lo, hi] by clamp-and-redistribute; returns (values, status).

    The continuous solution clamps, one side at a time, the children whose proportional quota crosses a
    bound (the side with the larger total violation first, which is the one the final solution keeps) and
    redistributes the rest; interior children are then apportioned exactly and any rounding that crosses a
    bound is handed to the children furthest below (above) their continuous value. Bounds win over the
    rounding unit. status is -1 (at min), +1 (at max) or 0.
    """
    status = np.where(weights > 0, 0, -1).astype(np.int8)
    w = weights.astype(np.float64)
    quota = lo.astype(np.float64)
    while (status == 0).any():
        free = status == 0
        rest = total - lo[status == -1].sum() - hi[status == 1].sum()
        quota = np.where(free, rest * w / w[free].sum(), np.where(status == 1, hi, lo))
        over, under = free & (quota > hi), free & (quota < lo)
        if not over.any() and not under.any():
            break
        if (quota - hi)[over].sum() >= (lo - quota)[under].sum():
            status[over] = 1
        else:
            status[under] = -1
    values = np.where(status == 1, hi, lo).astype(np.int64)
    free = status == 0
    if free.any():
        rest = total - int(values[~free].sum())
        if rest >= 0:
            values[free] = apportion(rest, weights[free], unit=unit)
        values = np.clip(values, lo, hi)
    gap = total - int(values.sum())
    order = np.argsort(-(quota - values) if gap > 0 else (quota - values), kind="stable")
    for i in order:
        if gap == 0:
            break
        step = min(gap, int(hi[i] - values[i])) if gap > 0 else max(gap, int(lo[i] - values[i]))
        values[i] += step
        gap -= step
    return values, np.where(values >= hi, 1, np.where((values <= lo) & (lo > 0), -1, 0))


def allocate(
    total: int | None,
    labels: Sequence[str],
    basis: Basis | Sequence[float] | np.ndarray | None = None,
    *,
    unit: int = 1,
    locks: Mapping[str, int] | None = None,
    bounds: Mapping[str, tuple[int | None, int | None]] | None = None,
    over_assign: float | int | Decimal | None = None,
    zero_weights: Literal["error", "even"] = "error",
) -> Allocation:
    """Split `total` over `labels` by `basis` (default even) under the common planning constraints.

    * `over_assign` (percent, e.g. 110): children total ``round(total * pct / 100)`` (half up), recorded.
    * `locks`: children locked or set by hand keep their value; the rest is spread over the others.
    * `bounds`: ``{label: (min, max)}`` in fen, either side may be None.
    * all-zero weights raise AllocationError unless ``zero_weights="even"``.
    Infeasible combinations raise AllocationError naming the children involved.
    """
    labels = [str(x) for x in labels]
    if len(set(labels)) != len(labels):
        raise ValueError("child labels must be unique")
    n = len(labels)
    if basis is None:
        basis = even(n)
    elif not isinstance(basis, Basis):
        basis = by_weights(basis)
    weights = _check_weights(basis.weights, n)
    if total is None:
        if basis.total is None:
            raise ValueError(f"the {basis.method} method needs an explicit total")
        total = basis.total
    parent = _check_total(total)
    if zero_weights not in ("error", "even"):
        raise ValueError(f"zero_weights must be 'error' or 'even', got {zero_weights!r}")
    adjustments = [_resolve(x, labels) for x in basis.adjustments]
    warnings = [_resolve(x, labels) for x in basis.warnings]

    target = parent
    if over_assign is not None:
        pct = _fraction(over_assign)
        if pct < 100:
            raise ValueError(f"over-assignment must be at least 100%, got {over_assign}%")
        target = round_half_up(parent * pct / 100)
        adjustments.append(
            note("over_assignment", parent=parent, pct=float(over_assign), children_total=target)
        )

    locked = np.zeros(n, dtype=bool)
    values = np.zeros(n, dtype=np.int64)
    for label, value in (locks or {}).items():
        if label not in labels:
            raise KeyError(f"locked child {label!r} is not one of the children")
        i = labels.index(label)
        locked[i], values[i] = True, _check_total(value, f"locked value of {label}")
        adjustments.append(note("locked", label=label, value=int(value)))
    locked_total = int(values.sum())
    if locked_total > target:
        raise AllocationError(
            f"locked values total {locked_total} fen, more than the {target} fen to allocate",
            [labels[i] for i in np.flatnonzero(locked)],
        )

    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, _UNBOUNDED, dtype=np.int64)
    for label, (low, high) in (bounds or {}).items():
        if label not in labels:
            raise KeyError(f"bounded child {label!r} is not one of the children")
        i = labels.index(label)
        lo[i] = 0 if low is None else _check_total(low, f"minimum of {label}")
        hi[i] = _UNBOUNDED if high is None else _check_total(high, f"maximum of {label}")
        if lo[i] > hi[i] or (locked[i] and not lo[i] <= values[i] <= hi[i]):
            raise AllocationError(
                f"the bounds of {label} are inconsistent with its own value or each other", [label]
            )

    free = ~locked
    rest = target - locked_total
    free_labels = [labels[i] for i in np.flatnonzero(free)]
    if not free.any():
        if rest:
            raise AllocationError(
                f"every child is locked but they total {locked_total} fen, not {target}", labels
            )
    else:
        w = weights[free]
        if rest > 0 and not (w > 0).any():
            if zero_weights == "error":
                raise AllocationError("all weights are zero for the children left to allocate", free_labels)
            w = np.ones(w.size, dtype=np.int64)
            adjustments.append(note("zero_weights_even"))
        if bounds:
            lo_f, hi_f = lo[free], hi[free]
            if lo_f.sum() > rest:
                raise AllocationError(
                    f"minimum bounds total {int(lo_f.sum())} fen, more than the {rest} fen left",
                    [x for x, v in zip(free_labels, lo_f, strict=True) if v > 0],
                )
            capped = hi_f < _UNBOUNDED
            reachable = sum(int(x) for x in np.where(w > 0, hi_f, lo_f))
            if (capped | (w == 0)).all() and reachable < rest:
                raise AllocationError(
                    f"maximum bounds allow at most {reachable} fen, less than the {rest} fen left",
                    [x for x, c in zip(free_labels, capped, strict=True) if c],
                )
            part, status = _bounded(rest, w, lo_f, hi_f, unit)
            for label, value, s in zip(free_labels, part.tolist(), status.tolist(), strict=True):
                if s:
                    adjustments.append(note("bound_max" if s > 0 else "bound_min", label=label, value=value))
        else:
            part = apportion(rest, w, unit=unit)
        values[free] = part

    weight_sum = float(np.sum(weights, dtype=np.float64))
    shares = (weights / weight_sum).tolist() if weight_sum > 0 else [0.0] * n
    explanation = Explanation(
        method=basis.method,
        total=parent,
        unit=int(unit),
        labels=labels,
        values=values.tolist(),
        shares=shares,
        inputs=dict(basis.inputs),
        adjustments=adjustments,
        warnings=warnings,
    )
    return Allocation(values, labels, explanation)


def level_totals(
    target: int,
    *,
    floor: int | None = None,
    stretch: int | None = None,
    floor_factor: float | Decimal = 0.9,
    stretch_factor: float | Decimal = 1.2,
) -> dict[str, int]:
    """底线/目标/挑战线 totals: set independently or derived from the target by factors (half up)."""
    target = _check_total(target, "target")
    levels = {
        "floor": floor if floor is not None else round_half_up(target * _fraction(floor_factor)),
        "target": target,
        "stretch": stretch if stretch is not None else round_half_up(target * _fraction(stretch_factor)),
    }
    for name, value in levels.items():
        _check_total(value, name)
    if not levels["floor"] <= target <= levels["stretch"]:
        raise ValueError(f"levels must satisfy floor <= target <= stretch, got {levels}")
    return levels


def allocate_levels(
    base: Allocation,
    *,
    floor: int | None = None,
    stretch: int | None = None,
    floor_factor: float | Decimal = 0.9,
    stretch_factor: float | Decimal = 1.2,
) -> dict[str, Allocation]:
    """Floor and stretch children consistent with an allocated target.

    The differences to the target are split in proportion to the children's targets (the same weights),
    so each level is exact and every child keeps floor <= target <= stretch, which a fresh split of each
    level could break by a rounding unit.
    """
    target = base.total
    totals = level_totals(
        target, floor=floor, stretch=stretch, floor_factor=floor_factor, stretch_factor=stretch_factor
    )
    unit = base.explanation.unit
    weights = base.values
    out = {"target": base}
    for name, sign, factor, given in (
        ("floor", -1, floor_factor, floor),
        ("stretch", 1, stretch_factor, stretch),
    ):
        delta = abs(totals[name] - target)
        if delta == 0:
            change = np.zeros_like(weights)
        elif sign < 0:
            change, _ = _bounded(delta, weights, np.zeros_like(weights), weights.copy(), unit)
        else:
            change = apportion(delta, weights, unit=unit)
        values = weights + sign * change
        if given is None:
            source = note("level_factor", level=name, level_total=totals[name], factor=float(factor))
        else:
            source = note("level_set", level=name, level_total=totals[name])
        explanation = Explanation(
            method="levels",
            total=totals[name],
            unit=unit,
            labels=list(base.labels),
            values=values.tolist(),
            shares=list(base.explanation.shares),
            inputs={"level": name, "base_method": base.explanation.method, "target": target},
            adjustments=[source],
            warnings=list(base.explanation.warnings),
        )
        out[name] = Allocation(values, list(base.labels), explanation)
    return out
