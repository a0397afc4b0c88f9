"""The capability method's defaults, apart from the arithmetic: forms, the API's schema and the
wizard show them without loading numpy."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_TIER_MULTIPLIERS: Mapping[str, float] = {"A": 1.3, "B": 1.0, "C": 0.8, "D": 0.6}
DEFAULT_RAMP: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
