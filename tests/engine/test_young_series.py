"""Issue 12, item 3: a young series (under two seasons since its first sale) keeps its recent level."""

import numpy as np
import pytest

from salestarget.engine.forecast import (
    BATCH_CANDIDATES,
    MEAN_MODEL,
    SHARED_SEASON,
    SeriesInput,
    forecast_many,
    forecast_series,
)

LEVEL = 1e6
SEASON = 1 + 0.3 * np.sin(2 * np.pi * np.arange(12) / 12)


def reference(months: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 2e7 * SEASON[np.arange(months) % 12] * rng.lognormal(0, 0.05, months)


def young(months: int, own: int, seed: int = 2, noise: float = 0.1, seasonal: bool = True) -> np.ndarray:
    """``own`` months of sales at the end of ``months``: a ramp from 0 over 6 months, then a
    stable LEVEL with the reference's season; unknown (NaN) before the first sale."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    ramp = np.clip((t - (months - own) + 1) / 6, 0, 1)
    y = LEVEL * ramp * (SEASON[t % 12] if seasonal else 1) * rng.lognormal(0, noise, months)
    y[: months - own] = np.nan
    return y


@pytest.mark.parametrize("lead", [np.nan, 0.0], ids=["unknown-before", "zero-before"])
def test_a_young_series_is_forecast_at_its_level_times_the_reference_season(lead):
    months, horizon = 36, 12
    y = young(months, 18)
    y[np.isnan(y)] = lead
    fc = forecast_many(
        [SeriesInput("c", y, reference=reference(months))], horizon, candidates=BATCH_CANDIDATES
    )["c"]
    assert fc.model == SHARED_SEASON
    expected = LEVEL * SEASON[np.arange(months, months + horizon) % 12]
    # The months follow the reference's season at the young series' level.
    np.testing.assert_allclose(fc.mean, expected, rtol=0.12)
    # p=0.5 near level x 12; p=0.8 positive and at most 25% below it (no ramp-up in the spread).
    assert fc.target_for_probability(0.5) == pytest.approx(LEVEL * 12, rel=0.1)
    p80 = fc.target_for_probability(0.8)
    assert 0.75 * expected.sum() < p80 < fc.target_for_probability(0.5)
    assert "spikes_capped" not in [n.code for n in fc.warnings]


def test_a_young_series_without_a_usable_reference_keeps_its_recent_level():
    # Without a season to borrow the level is the plain mean of the last months, so the
    # series has none here (a seasonal one would carry its last half-year's season).
    y = young(18, 18, seasonal=False)
    fc = forecast_series(y, 12, candidates=BATCH_CANDIDATES)
    assert fc.model == MEAN_MODEL
    assert fc.target_for_probability(0.5) == pytest.approx(LEVEL * 12, rel=0.15)
    assert fc.target_for_probability(0.8) > 0.6 * LEVEL * 12


@pytest.mark.parametrize("seed", range(5))
def test_a_lumpy_young_series_with_recent_sales_never_gets_a_zero_target(seed):
    rng = np.random.default_rng(seed)
    y = young(20, 20, seed=seed, noise=1.2)
    y[rng.random(20) < 0.3] = 0
    y[-3:] = np.maximum(y[-3:], 1e5)
    for ref in (None, reference(20), reference(20, seed) * 0 + 1e7):
        fc = forecast_many([SeriesInput("c", y, reference=ref)], 12, candidates=BATCH_CANDIDATES)["c"]
        assert fc.target_for_probability(0.5) > 0
        assert fc.target_for_probability(0.8) > 0


@pytest.mark.parametrize("seed", range(5))
def test_a_young_child_does_not_vanish_from_its_parent(seed):
    """One old and one young, lumpy child (18 months, 30% months without sales); parent = their sum."""
    months, horizon = 36, 12
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    old = 5e6 * SEASON[t % 12] * rng.lognormal(0, 0.1, months)
    new = young(months, 18, seed=seed, noise=0.8)
    new[18:][rng.random(18) < 0.3] = 0
    new[-3:] = np.maximum(new[-3:], 1e5)
    parent = old + np.nan_to_num(new)
    inputs = [
        SeriesInput(k, y, reference=parent) for k, y in (("old", old), ("new", new), ("parent", parent))
    ]
    fc = forecast_many(inputs, horizon, candidates=BATCH_CANDIDATES)
    p50 = {k: f.target_for_probability(0.5) for k, f in fc.items()}
    assert p50["old"] + p50["new"] == pytest.approx(p50["parent"], rel=0.15)
    # The young child keeps a commit target: at p=0.8 it does not drop out of the sum.
    assert fc["new"].target_for_probability(0.8) > 0.3 * p50["new"] > 0
