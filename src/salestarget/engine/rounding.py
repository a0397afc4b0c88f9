"""Exact rounding of money, in plain Python (no numpy): the import and the credit split call
these for every row, and the command line's start-up should not pay for numpy to read a file.

:func:`round_half_up` is the one rounding of the app; :func:`largest_remainder` is the
largest-remainder split behind :func:`salestarget.engine.allocate.apportion` at any magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

_HALF = Fraction(1, 2)
_DECIMAL_HALF = Decimal("0.5")


def round_half_up(value: Fraction | Decimal | int) -> int:
    """Commercial rounding, half towards +∞: planners expect 0.5 to round up, not to even.

    The one rounding of the app: the engine's exact Fractions and the import's exact Decimals
    (yuan -> fen) go through it, so a total and the rows it is compared with round alike."""
    return math.floor(value + (_DECIMAL_HALF if isinstance(value, Decimal) else _HALF))


def largest_remainder(total: int, weights: Sequence[int], unit: int = 1) -> list[int]:
    """:func:`apportion` in plain Python integers, for checked input (``total`` >= 0, integer
    weights >= 0 with a positive sum, ``unit`` >= 1): exact at any magnitude, and free of numpy's
    per-call cost where one fact is split between two or three people."""
    den = sum(weights) * unit
    num = [total * w for w in weights]
    out = [x // den * unit for x in num]
    order = sorted((i for i, x in enumerate(num) if x > 0), key=lambda i: -(num[i] % den))
    units, remainder = divmod(total, unit)
    leftover = units - sum(x // den for x in num)
    for i in order[:leftover]:
        out[i] += unit
    if remainder:
        out[order[leftover]] += remainder
    return out
