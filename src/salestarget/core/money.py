"""Showing integer minor units in the company's currency, with the number words of the
reader's language: 万/亿 in Chinese, K/M/B in English.

Money is stored everywhere as integers with two decimals (fen, cents) whatever the currency,
so a company can change its currency without touching a stored value; a currency with fewer
minor-unit digits (JPY, KRW) only shows fewer decimals. Values stay integers until the very
last step; only the display rounds. This module has no Django import: the engine uses it too.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Every amount is stored × 10^STORED_DECIMALS, in every currency.
STORED_DECIMALS = 2


@dataclass(frozen=True)
class Currency:
    """A currency the company may keep its books in.

    ``symbol_zh``/``symbol_en``: written before amounts (Chinese readers take a bare "$" or
    "¥" for US dollars and renminbi, hence "US$" and "JP¥"); ``digits``: decimals shown (the
    minor unit: 0 for yen, 2 for most); ``unit_zh``/``unit_en``: the word of column headers
    ("金额（美元）", "Amount (USD)"); ``name_zh``/``name_en``: the name in a list of choices.
    """

    code: str
    symbol_zh: str
    symbol_en: str
    digits: int
    unit_zh: str
    unit_en: str
    name_zh: str
    name_en: str

    def symbol(self, lang: str) -> str:
        return self.symbol_zh if _zh(lang) else self.symbol_en

    def unit(self, lang: str) -> str:
        return self.unit_zh if _zh(lang) else self.unit_en

    def name(self, lang: str) -> str:
        return self.name_zh if _zh(lang) else self.name_en

    def label(self, lang: str) -> str:
        """For lists of choices: "美元 (USD)" / "US dollar (USD)"."""
        return f"{self.name(lang)} ({self.code})"


# The one list of supported currencies (the company setting's choices).
CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("CNY", "¥", "¥", 2, "元", "yuan", "人民币", "Chinese yuan"),
        Currency("USD", "US$", "$", 2, "美元", "USD", "美元", "US dollar"),
        Currency("EUR", "€", "€", 2, "欧元", "EUR", "欧元", "Euro"),
        Currency("HKD", "HK$", "HK$", 2, "港元", "HKD", "港元", "Hong Kong dollar"),
        Currency("JPY", "JP¥", "JP¥", 0, "日元", "JPY", "日元", "Japanese yen"),
        Currency("GBP", "£", "£", 2, "英镑", "GBP", "英镑", "Pound sterling"),
        Currency("SGD", "S$", "S$", 2, "新加坡元", "SGD", "新加坡元", "Singapore dollar"),
        Currency("TWD", "NT$", "NT$", 2, "新台币", "TWD", "新台币", "New Taiwan dollar"),
        Currency("KRW", "₩", "₩", 0, "韩元", "KRW", "韩元", "South Korean won"),
        Currency("AUD", "A$", "A$", 2, "澳元", "AUD", "澳元", "Australian dollar"),
    )
}
DEFAULT_CURRENCY = "CNY"


def _zh(lang: str | None) -> bool:
    return (lang or "zh").lower().startswith("zh")


def get_currency(code: Currency | str | None = None) -> Currency:
    """The currency of ``code`` (CNY for None; a code no longer listed shows as CNY would)."""
    if isinstance(code, Currency):
        return code
    return CURRENCIES.get((code or DEFAULT_CURRENCY).upper(), CURRENCIES[DEFAULT_CURRENCY])


def currency_unit(lang: str, code: Currency | str | None = None) -> str:
    """The currency's word for column headers and labels: "元"/"美元" (zh), "yuan"/"USD" (en)."""
    return get_currency(code).unit(lang)


def _fmt(value: Decimal, places: int) -> str:
    q = Decimal(1).scaleb(-places)
    text = f"{value.quantize(q, rounding=ROUND_HALF_UP):,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_amount(
    minor: int | None,
    decimals: int = STORED_DECIMALS,
    lang: str = "zh",
    places: int = 2,
    currency: Currency | str | None = None,
    symbol: bool = True,
) -> str:
    """Minor units as a short amount in the company's currency; None -> "—".

    Chinese uses 万/亿 for every currency, English K/M/B:

    - CNY: "1,234.57万" in Chinese (no symbol, as the app always showed renminbi), "¥12.35M"
      in English;
    - others: the symbol before the number in both languages: "US$1,234.57万" / "$12.35M",
      "HK$3.5亿" / "HK$350M".

    Why "US$1,234.57万" and not "1,234.57万美元": the number keeps its number word next to it,
    exactly as the renminbi amounts read, and the symbol leads in both languages, so one
    column (a KPI card, a chart axis, a table) has the same shape in Chinese and English and
    stays as short as before; a trailing currency word would make every value longer and read
    differently below 1万 ("950美元") than above it.

    ``decimals``: the value's stored decimals (2 for money; a metric's own for counts);
    ``places``: decimals shown with 万/亿/K/M/B (trailing zeros dropped); values below 1万 show
    at most the currency's minor-unit digits (none for yen). ``symbol=False`` leaves the
    symbol out, for a table whose header names the currency.
    """
    if minor is None:
        return "—"
    cur = get_currency(currency)
    value = Decimal(int(minor)).scaleb(-int(decimals))
    sign = "-" if value < 0 else ""
    value = abs(value)
    small = min(places, cur.digits)
    if _zh(lang):
        prefix = cur.symbol_zh if symbol and cur.code != DEFAULT_CURRENCY else ""
        if value >= Decimal(100_000_000):
            text = _fmt(value / Decimal(100_000_000), places) + "亿"
        elif value >= Decimal(10_000):
            text = _fmt(value / Decimal(10_000), places) + "万"
        else:
            text = _fmt(value, small)
        return f"{sign}{prefix}{text}"
    prefix = cur.symbol_en if symbol else ""
    if value >= Decimal(1_000_000_000):
        text = _fmt(value / Decimal(1_000_000_000), places) + "B"
    elif value >= Decimal(1_000_000):
        text = _fmt(value / Decimal(1_000_000), places) + "M"
    elif value >= Decimal(10_000):
        text = _fmt(value / Decimal(1_000), 1) + "K"
    else:
        text = _fmt(value, small)
    return f"{sign}{prefix}{text}"


def format_exact(minor: int | None, currency: Currency | str | None = None) -> str:
    """Stored minor units in full, grouped, without symbol: "1,234.56"; yen "1,235" (rounded
    half up, since yen has no minor unit); None -> "—". For tables whose header names the
    currency (see :func:`currency_unit`)."""
    if minor is None or minor == "":
        return "—"
    cur = get_currency(currency)
    value = Decimal(int(minor)).scaleb(-STORED_DECIMALS)
    q = Decimal(1).scaleb(-cur.digits)
    return f"{value.quantize(q, rounding=ROUND_HALF_UP):,.{cur.digits}f}"


def format_percent(ratio: float | None, places: int = 1) -> str:
    if ratio is None:
        return "—"
    return f"{ratio * 100:.{places}f}%"


# The unit words a planner types after an amount, as the pages show amounts (1,234.56万, 0.5亿):
# longest first, so that 万元 is not read as 万 followed by a stray 元.
AMOUNT_WORDS = (("亿元", 10**8), ("万元", 10**4), ("亿", 10**8), ("万", 10**4), ("元", 1))


def typed_amount(text: str) -> tuple[str, int | None]:
    """Text typed as the pages show amounts, split into its number and the multiplier of its
    unit word: ("1,234.56", 10_000) for "1,234.56万" or "1,234.56万元", ("0.5", 10**8) for
    "0.5亿", ("100", 1) for "100元"; (text, None) when it names no unit, and the caller's unit
    (a file's, yuan on a form) applies. Full-width digits, commas, points, signs and brackets
    ("１，２３４．５６万") come back as ASCII (NFKC). The number is not checked here: the caller
    reads it exactly (Decimal) and scales it with :func:`minor_units`."""
    s = unicodedata.normalize("NFKC", text).strip()
    for word, multiplier in AMOUNT_WORDS:
        if s.endswith(word):
            return s[: -len(word)].strip(), multiplier
    return s, None


def minor_units(number: Decimal, decimals: int = STORED_DECIMALS, multiplier: int = 1) -> int | None:
    """``number`` × ``multiplier`` in minor units (× 10^``decimals``), exactly; None when that is
    not a whole number (more decimals than the minor unit keeps: 1.2345678万 is 12,345.678)."""
    scaled = number * multiplier * (Decimal(10) ** decimals)
    return int(scaled) if scaled == scaled.to_integral_value() else None
