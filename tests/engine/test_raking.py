import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from salestarget.engine.allocate import AllocationError, apportion
from salestarget.engine.raking import rake, round_table

FAST = settings(max_examples=50, deadline=None)


def marginals_for(seed: np.ndarray, total: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Integer marginals near the seed's own, all summing to `total`."""
    out = []
    for axis in range(seed.ndim):
        other = tuple(a for a in range(seed.ndim) if a != axis)
        out.append(apportion(total, seed.sum(axis=other) * rng.uniform(0.5, 1.5, seed.shape[axis])))
    return out


def assert_exact(values: np.ndarray, marginals: list[np.ndarray]) -> None:
    assert values.dtype == np.int64 and (values >= 0).all()
    for axis, m in enumerate(marginals):
        other = tuple(a for a in range(values.ndim) if a != axis)
        assert (values.sum(axis=other) == m).all()


class TestRake:
    def test_region_by_product(self):
        seed = np.array([[30.0, 10, 5], [20, 20, 5], [10, 5, 15]])
        rows, cols = [1800, 1500, 1700], [2000, 1500, 1500]
        result = rake(seed, [rows, cols])
        assert_exact(result.values, [np.array(rows), np.array(cols)])
        assert result.converged and result.iterations >= 1 and result.max_error <= result.tol

    @FAST
    @given(
        hnp.arrays(
            np.float64,
            hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=7),
            elements=st.floats(0.01, 1e4),
        ),
        st.integers(0, 10**9),
        st.integers(0, 2**32 - 1),
    )
    def test_every_axis_total_is_exact(self, seed, total, salt):
        marginals = marginals_for(seed, total, np.random.default_rng(salt))
        result = rake(seed, marginals)
        assert_exact(result.values, marginals)
        if seed.ndim == 3:  # the inner product x month table is integer and consistent
            assert (result.values.sum(axis=0).sum(axis=1) == marginals[1]).all()

    def test_a_slowly_converging_table_is_still_rounded_exactly(self):
        # Found by hypothesis: column 0 needs 39 from the row whose seed is almost all in column 1.
        seed = np.array([[1.0, 0.5], [404, 0.5], [465, 0.5], [0.5, 3115]])
        marginals = [np.array([8, 2280, 2308, 11187]), np.array([4635, 11148])]
        result = rake(seed, marginals)
        assert not result.converged
        assert result.explanation.warnings[0].code == "not_converged"
        assert_exact(result.values, marginals)
        assert result.values.tolist() == [[8, 0], [2280, 0], [2308, 0], [39, 11148]]

    def test_three_dimensional_cells_stay_within_one_unit_of_the_fit(self):
        rng = np.random.default_rng(7)
        seed = rng.gamma(2.0, 1.0, (30, 8, 12))
        marginals = marginals_for(seed, 10**8, rng)
        result = rake(seed, marginals)
        assert_exact(result.values, marginals)
        assert result.converged

    def test_zero_seed_row_with_positive_total_is_filled_evenly(self):
        seed = np.array([[10.0, 30.0], [0.0, 0.0]])
        result = rake(seed, [[40, 60], [50, 50]])
        assert result.filled == [(0, [1])]
        assert_exact(result.values, [np.array([40, 60]), np.array([50, 50])])
        assert result.explanation.adjustments[0].code == "filled_zero_seed"

    def test_structural_zeros_stay_zero(self):
        seed = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
        result = rake(seed, [[101, 57, 80], [90, 70, 78]])
        assert (result.values[seed == 0] == 0).all()

    def test_inconsistent_marginals_are_rejected(self):
        with pytest.raises(AllocationError, match="axis 0 sums to 100, axis 1 sums to 99"):
            rake(np.ones((2, 2)), [[50, 50], [50, 49]])

    def test_infeasible_seed_pattern_is_reported(self):
        seed = np.array([[1.0, 0.0], [0.0, 1.0]])  # diagonal: rows must equal columns
        with pytest.raises(AllocationError, match="zero cells leave some totals unreachable"):
            rake(seed, [[70, 30], [30, 70]], max_iter=50)

    def test_bad_input(self):
        with pytest.raises(ValueError, match="two axes"):
            rake(np.ones(3), [[1, 1, 1]])
        with pytest.raises(ValueError, match="non-negative"):
            rake(-np.ones((2, 2)), [[1, 1], [1, 1]])
        with pytest.raises(ValueError, match="marginal of axis 1"):
            rake(np.ones((2, 2)), [[1, 1], [1.0, 1.0]])

    def test_explanation(self):
        result = rake(np.ones((2, 2)), [[3, 1], [2, 2]])
        assert "raking" in result.explanation.text("en")
        json.dumps(result.explanation.to_dict())


class TestRoundTable:
    @FAST
    @given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
    def test_controlled_rounding(self, n, m, salt):
        rng = np.random.default_rng(salt)
        exact = rng.integers(3, 1000, (n, m))
        noise = rng.uniform(-0.5, 0.5, (n, m))
        # Doubly centred noise keeps every row and column total while making the cells fractional.
        noise = noise - noise.mean(axis=1, keepdims=True) - noise.mean(axis=0, keepdims=True) + noise.mean()
        table = exact + noise
        before = table.copy()
        values = round_table(table, exact.sum(axis=1), exact.sum(axis=0))
        assert (values.sum(axis=1) == exact.sum(axis=1)).all()
        assert (values.sum(axis=0) == exact.sum(axis=0)).all()
        assert (np.abs(values - before) < 1 + 1e-9).all()
