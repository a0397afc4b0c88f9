"""Showing integer minor units the way Chinese users read them: 万 and 亿.

Values stay integers until the very last step; only the display rounds.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def _fmt(value: Decimal, places: int) -> str:
    q = Decimal(1).scaleb(-places)
    text = f"{value.quantize(q, rounding=ROUND_HALF_UP):,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_amount(minor: int | None, decimals: int = 2, lang: str = "zh", places: int = 2) -> str:
    """1234567800 fen -> "1,234.57万" (zh) or "12,345,678" (en); None -> "—"."""
    if minor is None:
        return "—"
    value = Decimal(int(minor)).scaleb(-decimals)
    if lang.startswith("zh"):
        if abs(value) >= Decimal(100_000_000):
            return _fmt(value / Decimal(100_000_000), places) + "亿"
        if abs(value) >= Decimal(10_000):
            return _fmt(value / Decimal(10_000), places) + "万"
        return _fmt(value, places)
    if abs(value) >= Decimal(1_000_000):
        return _fmt(value / Decimal(1_000_000), places) + "M"
    if abs(value) >= Decimal(10_000):
        return _fmt(value / Decimal(1_000), 1) + "K"
    return _fmt(value, places)


def format_percent(ratio: float | None, places: int = 1) -> str:
    if ratio is None:
        return "—"
    return f"{ratio * 100:.{places}f}%"
