"""Multi-dimensional consistency: an integer table (e.g. org x product x month) matching every axis total.

Two steps:

1. Raking (iterative proportional fitting) of a history seed to the 1-D marginals of every axis, in
   float64. The fitted table always has the form ``seed * f0 ⊗ f1 ⊗ ...``, so only the factor vectors are
   iterated; each iteration reads the seed twice (two matrix-vector products) and never writes it.
2. Controlled rounding, which keeps every marginal exact. In 2-D each cell becomes floor(x) or
   floor(x) + 1, i.e. stays within one unit of the raked value. Columns are processed one at a time
   (largest total first); a column's extra units go to the rows with the largest residual, adjusted by
   how far each row has drifted from its expected running total. Before committing a column, the
   Gale-Ryser condition checks that the remaining row needs can still be met by the remaining columns;
   if not, that column goes to the rows with the largest remaining need instead, which by the classic
   exchange argument always keeps the problem solvable. A solution exists whenever the raked table
   misses its marginals by less than one unit in total, which convergence ensures. When raking stopped
   early (seeds far from their totals can converge very slowly), the table is first moved onto its
   totals exactly (`_meet_totals`) and then rounded, so the result is still exact, with a warning.

   For n-D tables (n >= 3) the table summed over axis 0 is rounded first (recursively), then the table
   reshaped to axis 0 x (all other axes) is rounded in 2-D against axis 0's totals and that rounded
   table. Exact in the result: every 1-D marginal, the grand total, and the marginal table over axes
   1..n-1 (e.g. product x month) is an integer table consistent with them. Individual cells are within
   one unit of the raked value.

Zero seed slices with a positive marginal (e.g. a new rep without history) are filled evenly before
raking, so they end up proportional to the other axes' totals; the fill is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .allocate import AllocationError
from .explain import Explanation, Note, note


@dataclass
class Raking:
    """Integer table plus the convergence report (`max_error` in fen, measured in the last iteration)."""

    values: np.ndarray
    iterations: int
    max_error: float
    converged: bool
    tol: float
    filled: list[tuple[int, list[int]]] = field(default_factory=list)
    explanation: Explanation | None = None


def _check_marginals(shape: tuple[int, ...], marginals: Sequence[Sequence[int]]) -> list[np.ndarray]:
    if len(marginals) != len(shape):
        raise ValueError(f"need one marginal per axis ({len(shape)}), got {len(marginals)}")
    out = []
    for axis, (size, m) in enumerate(zip(shape, marginals, strict=True)):
        arr = np.asarray(m)
        if arr.shape != (size,) or arr.dtype.kind not in "iu":
            raise ValueError(f"marginal of axis {axis} must be {size} integers in fen")
        if (arr < 0).any():
            raise ValueError(f"marginal of axis {axis} has negative totals")
        out.append(arr.astype(np.int64))
    totals = [int(m.sum()) for m in out]
    if len(set(totals)) > 1:
        detail = ", ".join(f"axis {axis} sums to {t}" for axis, t in enumerate(totals))
        raise AllocationError(f"inconsistent marginals: the grand totals differ ({detail})")
    return out


def _outer(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """Flattened outer product, matching a C-order reshape of the trailing axes."""
    out = np.ones(1)
    for v in vectors:
        out = np.multiply.outer(out, v).ravel()
    return out


def _ipf_cycle(
    seed2: np.ndarray, shape: tuple[int, ...], factors: list[np.ndarray], targets: list[np.ndarray]
) -> float:
    """One raking pass over every axis, updating `factors` in place; returns the largest error seen.

    Axis 0 is fitted against the seed contracted with the other factors; the seed contracted with the new
    axis-0 factor is then a smaller table with the same structure, on which the remaining axes recurse.
    """
    rows = seed2 @ _outer(factors[1:])
    error = float(np.abs(factors[0] * rows - targets[0]).max(initial=0.0))
    np.divide(targets[0], rows, out=factors[0], where=rows > 0)
    factors[0][rows <= 0] = 0.0
    rest = factors[0] @ seed2
    if len(shape) == 2:
        error = max(error, float(np.abs(factors[1] * rest - targets[1]).max(initial=0.0)))
        np.divide(targets[1], rest, out=factors[1], where=rest > 0)
        factors[1][rest <= 0] = 0.0
        return error
    sub = rest.reshape(shape[1], -1)
    return max(error, _ipf_cycle(sub, shape[1:], factors[1:], targets[1:]))


def _axis_sums(s: np.ndarray) -> list[np.ndarray]:
    """All 1-D marginals with two passes over the data (matrix-vector products) instead of one per axis."""
    flat = s.reshape(s.shape[0], -1)
    rest = np.ones(flat.shape[0]) @ flat
    sums = [flat @ np.ones(flat.shape[1])]
    rest = rest.reshape(s.shape[1:])
    for axis in range(rest.ndim):
        sums.append(rest.sum(axis=tuple(a for a in range(rest.ndim) if a != axis)))
    return sums


def _top(key: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` largest keys, ties going to the lower index (deterministic)."""
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    if count >= key.size:
        return np.arange(key.size)
    kth = np.partition(key, key.size - count)[key.size - count]
    above = np.flatnonzero(key > kth)
    ties = np.flatnonzero(key == kth)[: count - above.size]
    return np.concatenate([above, ties])


def _feasible(needs: np.ndarray, col_prefix: np.ndarray) -> bool:
    """Gale-Ryser: can 0/1 cells give row sums `needs` and the remaining (sorted) column sums?

    `col_prefix[k]` is the sum of the k largest remaining column needs, k = 0..m.
    """
    m = col_prefix.size - 1
    if m == 0:
        return not needs.any()
    counts = np.bincount(np.minimum(needs, m + 1), minlength=m + 2)
    at_least = np.cumsum(counts[::-1])[::-1]  # at_least[t] = rows needing >= t
    capacity = np.cumsum(at_least[1 : m + 1])  # sum_i min(need_i, k) for k = 1..m
    return bool((col_prefix[1:] <= capacity).all())


def _floors(x: np.ndarray, rows: np.ndarray, cols: np.ndarray):
    """Floored cells, the units each row and column still needs, and columns by need with prefix sums."""
    values = x.astype(np.int64)  # truncation is floor for non-negative cells
    need = rows - values.sum(axis=1)
    col_need = cols - values.sum(axis=0)
    order = np.argsort(-col_need, kind="stable")
    prefix = np.concatenate([[0], np.cumsum(col_need[order])])
    return values, need, col_need, order, prefix


def _roundable(need: np.ndarray, col_need: np.ndarray, prefix: np.ndarray, n: int, m: int) -> bool:
    in_range = not ((need < 0).any() or (need > m).any() or (col_need < 0).any() or (col_need > n).any())
    return in_range and _feasible(need, prefix)


def _meet_totals(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, structural_zero: np.ndarray) -> None:
    """Move a table that misses its totals (raking stopped early) onto them, in place.

    Columns are scaled to their totals; then rows over their total shrink proportionally and the mass
    they free in each column goes to the rows under their total, in proportion to each row's shortfall,
    which keeps every column exact. Cells that are structural zeros receive nothing, so with structural
    zeros the rows may stay short and rounding then reports it.
    """
    col_sums = x.sum(axis=0)
    np.multiply(x, np.divide(cols, col_sums, out=np.zeros(col_sums.size), where=col_sums > 0), out=x)
    row_sums = x.sum(axis=1)
    over = row_sums > rows
    shortfall = np.where(over, 0.0, rows - row_sums)
    freed = (x[over] * (1.0 - rows[over] / row_sums[over])[:, None]).sum(axis=0)
    x[over] *= (rows[over] / row_sums[over])[:, None]
    share = shortfall[:, None] * ~structural_zero
    share_sums = share.sum(axis=0)
    np.divide(share, share_sums, out=share, where=share_sums > 0)
    x += share * freed


def round_table(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Round a non-negative 2-D float table to integers with exactly the given row and column totals.

    Every cell becomes floor(x) or floor(x) + 1 (see the module docstring for the method). `x` is used
    as scratch space and overwritten.
    """
    n, m = x.shape
    structural_zero = x == 0
    values, need, col_need, order, prefix = _floors(x, rows, cols)
    if not _roundable(need, col_need, prefix, n, m):
        _meet_totals(x, rows, cols, structural_zero)
        values, need, col_need, order, prefix = _floors(x, rows, cols)
        if not _roundable(need, col_need, prefix, n, m):
            raise AllocationError(
                "no integer table meets every total: the seed's zero cells leave some totals unreachable"
            )
    np.subtract(x, values, out=x)
    residual = np.ascontiguousarray(x.T)
    penalty = np.ascontiguousarray(structural_zero.T)
    expected = residual.sum(axis=0)
    for pos, j in enumerate(order):
        r = residual[j]
        expected -= r
        count = int(col_need[j])
        if count:
            # need - expected = the units a row would still lack after this column: at the start it is
            # about the cell's residual, later it also carries the row's drift, which keeps rows on track.
            key = need - expected - 2.0 * penalty[j]
            key[need <= 0] = -np.inf
            chosen = _top(key, count)
            trial = need.copy()
            trial[chosen] -= 1
            remaining = prefix[pos + 1 :] - prefix[pos + 1]
            if not _feasible(trial, remaining):
                chosen = _top(need + 0.4 * r - 0.5 * penalty[j], count)
                trial = need.copy()
                trial[chosen] -= 1
            need = trial
            values[chosen, j] += 1
    return values


def _round_nd(x: np.ndarray, marginals: list[np.ndarray]) -> np.ndarray:
    if x.ndim == 2:
        return round_table(x, marginals[0], marginals[1])
    inner = _round_nd(x.sum(axis=0), marginals[1:])
    flat = round_table(x.reshape(x.shape[0], -1), marginals[0], inner.ravel())
    return flat.reshape(x.shape)


def rake(
    seed: np.ndarray,
    marginals: Sequence[Sequence[int]],
    *,
    tol: float = 0.01,
    max_iter: int = 500,
    axis_labels: Sequence[Sequence[str]] | None = None,
) -> Raking:
    """Fit a non-negative seed (2-D or more) to integer axis totals and round it exactly.

    `tol` is the largest acceptable deviation of any float axis total, in fen. Marginals with different
    grand totals raise AllocationError. A table that did not converge is still rounded exactly when
    possible (with a warning); otherwise AllocationError explains why.
    """
    s = np.asarray(seed)
    if s.ndim < 2:
        raise ValueError("raking needs a table with at least two axes; use apportion for one")
    if s.dtype.kind not in "iuf" or not np.isfinite(s).all() or (s < 0).any():
        raise ValueError("the seed must be finite and non-negative")
    targets = _check_marginals(s.shape, marginals)
    names = [[str(i) for i in range(size)] for size in s.shape] if axis_labels is None else axis_labels
    s = s.astype(np.float64, copy=False)
    filled: list[tuple[int, list[int]]] = []
    seed_sums = _axis_sums(s)
    for axis, target in enumerate(targets):
        empty = np.flatnonzero((seed_sums[axis] == 0) & (target > 0))
        if empty.size:
            if not filled:
                s = s.copy()
            index = [slice(None)] * s.ndim
            index[axis] = empty
            s[tuple(index)] = 1.0
            filled.append((axis, empty.tolist()))
    float_targets = [t.astype(np.float64) for t in targets]
    factors = [np.ones(size) for size in s.shape]
    seed2 = s.reshape(s.shape[0], -1)
    error, iterations = np.inf, 0
    while iterations < max_iter and error > tol:
        iterations += 1
        error = _ipf_cycle(seed2, s.shape, factors, float_targets)
    converged = error <= tol
    fitted = seed2 * _outer(factors[1:])
    fitted *= factors[0][:, None]
    values = _round_nd(fitted.reshape(s.shape), targets)
    warnings: list[Note] = []
    if not converged:
        warnings.append(note("not_converged", iterations=iterations, tol=tol, max_error=error))
    adjustments = [
        note("filled_zero_seed", axis=axis, labels=[names[axis][i] for i in idx]) for axis, idx in filled
    ]
    explanation = Explanation(
        method="raking",
        total=int(targets[0].sum()),
        inputs={
            "shape": list(s.shape),
            "iterations": iterations,
            "max_error": float(error),
            "tol": tol,
            "converged": converged,
        },
        adjustments=adjustments,
        warnings=warnings,
    )
    return Raking(values, iterations, float(error), converged, tol, filled, explanation)
