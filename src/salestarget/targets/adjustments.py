"""What a director knows that the history does not: one schema for the service, the page's
form, the API and the ``recommend`` command, and what each adjustment adds to the forecast.

Every field of :class:`Adjustments` carries a :class:`Spec` (kind, label, bounds, default);
``targets/forms.py``, ``targets/api.py`` and the command generate their fields from
:data:`SPECS`, so an adjustment is added here (its field and its line in
:func:`adjustment_lines`), nowhere else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from salestarget.core.api_contract import MAX_AMOUNT, MAX_COUNT
from salestarget.core.errors import DomainError
from salestarget.engine.rounding import round_half_up
from salestarget.metrics.selectors import with_currency

# Kinds of value; money is minor units (fen) in the service and the API, whole units of the
# company's currency (yuan) on the page and the command line.
PERCENT = "percent"
AMOUNT = "amount"
PER_MONTH = "per_month"
COUNT = "count"
MONTH = "month"
MONEY = (AMOUNT, PER_MONTH)

DEFAULT_RAMP_MONTHS = 3

# The chance a recommended target is reached, unless the user asks for another.
DEFAULT_P = 0.8


@dataclass(frozen=True)
class Spec:
    """One adjustment's metadata. Bounds are in the service's units (fen for money); ``gt`` is
    an exclusive lower bound, ``ge`` an inclusive one. ``flag`` names the command-line option
    when it is not the field's name; ``group`` gathers fields on one row of the page."""

    kind: str
    label: Any
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    help_text: Any = ""
    flag: str = ""
    group: str = ""
    # Filled in from the dataclass field.
    name: str = ""
    default: Any = None

    @property
    def money(self) -> bool:
        return self.kind in MONEY

    def shown(self, value: float) -> str:
        """A bound as the user types it: yuan for money."""
        shown = value / 100 if self.money else value
        return str(int(shown)) if float(shown).is_integer() else f"{shown:g}"

    def check(self, value: Any) -> None:
        """Raise DomainError when ``value`` (service units) lies outside the bounds."""
        if value is None or self.kind == MONTH:
            return
        low = self.gt if self.gt is not None else self.ge
        outside = (
            (isinstance(value, float) and not math.isfinite(value))
            or (self.gt is not None and value <= self.gt)
            or (self.ge is not None and value < self.ge)
            or (self.le is not None and value > self.le)
        )
        if not outside:
            return
        params = {"label": self.label, "low": self.shown(low), "high": self.shown(self.le)}
        if self.gt is not None:
            raise DomainError(_("%(label)s must be above %(low)s and at most %(high)s."), **params)
        raise DomainError(_("%(label)s must lie between %(low)s and %(high)s."), **params)


def _adjustment(default: Any, spec: Spec):
    return dataclasses.field(default=default, metadata={"spec": spec})


@dataclass(frozen=True)
class Adjustments:
    """All optional, all in fen or percent.

    Hires ramp up linearly to ``hire_productivity`` (fen per month) over ``ramp_months``
    starting in ``hire_month``; departures stop selling from ``departure_month`` on at
    ``departure_productivity`` per month, by default an average active rep of the scope.
    """

    growth_pct: float = _adjustment(
        0.0, Spec(PERCENT, _("Market growth (%)"), gt=-100, le=1000, flag="growth", group="market")
    )
    price_pct: float = _adjustment(
        0.0, Spec(PERCENT, _("Price change (%)"), gt=-100, le=1000, flag="price", group="market")
    )
    new_business: int = _adjustment(
        0,
        Spec(
            AMOUNT,
            with_currency(gettext_noop("New products or regions (%(currency)s)")),
            ge=0,
            le=MAX_AMOUNT,
            group="market",
        ),
    )
    hires: int = _adjustment(0, Spec(COUNT, _("New hires"), ge=0, le=MAX_COUNT, group="hires"))
    hire_month: dt.date | None = _adjustment(None, Spec(MONTH, _("First month of the hires"), group="hires"))
    hire_productivity: int = _adjustment(
        0,
        Spec(
            PER_MONTH,
            with_currency(gettext_noop("Monthly sales of a fully ramped hire (%(currency)s)")),
            ge=0,
            le=MAX_AMOUNT,
            group="hires",
        ),
    )
    ramp_months: int = _adjustment(
        DEFAULT_RAMP_MONTHS, Spec(COUNT, _("Ramp-up (months)"), ge=1, le=120, group="hires")
    )
    departures: int = _adjustment(0, Spec(COUNT, _("Departures"), ge=0, le=MAX_COUNT, group="departures"))
    departure_month: dt.date | None = _adjustment(
        None, Spec(MONTH, _("First month without them"), group="departures")
    )
    departure_productivity: int | None = _adjustment(
        None,
        Spec(
            PER_MONTH,
            with_currency(gettext_noop("Monthly sales of a leaver (%(currency)s)")),
            ge=0,
            le=MAX_AMOUNT,
            help_text=_("Empty: an average rep of the scope."),
            group="departures",
        ),
    )

    def __post_init__(self):
        for spec in SPECS:
            spec.check(getattr(self, spec.name))

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Adjustments:
        """From a form's, a query's or the command line's values (service units); a missing
        or empty value takes the field's default."""
        return cls(**{spec.name: values[spec.name] for spec in SPECS if values.get(spec.name) is not None})

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for spec in SPECS:
            if spec.kind == MONTH and out[spec.name] is not None:
                out[spec.name] = out[spec.name].isoformat()
        return out


SPECS: tuple[Spec, ...] = tuple(
    dataclasses.replace(f.metadata["spec"], name=f.name, default=f.default)
    for f in dataclasses.fields(Adjustments)
)


@dataclass(frozen=True)
class Line:
    """One step of the explanation; the amounts of all lines before "recommended" add up to it."""

    code: str
    label: str
    amount: int
    note: str = ""

    def to_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "amount": self.amount, "note": self.note}


def _months_from(months: list[dt.date], start: dt.date | None) -> list[int]:
    """Months since ``start`` (0 = the start month) for each period month on or after it."""
    start = start.replace(day=1) if start else months[0]
    return [(m.year - start.year) * 12 + m.month - start.month for m in months if m >= start]


def _exact(pct: float) -> Fraction:
    """A percentage as the decimal the user typed (2.3 is 23/10), so money is never rounded
    through a binary float."""
    return Fraction(str(pct))


def adjustment_lines(
    adj: Adjustments, baseline: int, months: list[dt.date], active_reps: int
) -> tuple[list[Line], float]:
    """The adjustment lines and the factor by which they scale the forecast's uncertainty.

    Growth and price scale the whole baseline (price on the grown volume), so they scale
    its spread too; the additive items are the director's own figures and add no spread.
    """
    lines = []
    growth = round_half_up(baseline * _exact(adj.growth_pct) / 100)
    if adj.growth_pct:
        lines.append(Line("growth", gettext("Market growth"), growth, f"{adj.growth_pct:+g}%"))
    if adj.price_pct:
        price = round_half_up((baseline + growth) * _exact(adj.price_pct) / 100)
        lines.append(Line("price", gettext("Price change"), price, f"{adj.price_pct:+g}%"))
    if adj.new_business:
        lines.append(Line("new_business", gettext("New products or regions"), int(adj.new_business)))
    if adj.hires and adj.hire_productivity:
        shares = sum(
            min(Fraction(1), Fraction(k + 1, adj.ramp_months)) for k in _months_from(months, adj.hire_month)
        )
        amount = round_half_up(adj.hires * adj.hire_productivity * shares)
        note = gettext("%(n)d new, ramp %(r)d months, %(m).1f full-productivity months") % {
            "n": adj.hires,
            "r": adj.ramp_months,
            "m": float(shares),
        }
        lines.append(Line("hires", gettext("New hires"), amount, note))
    if adj.departures:
        per_rep = adj.departure_productivity
        if per_rep is None:
            per_rep = round_half_up(Fraction(baseline, len(months) * active_reps)) if active_reps else 0
        lost = len(_months_from(months, adj.departure_month))
        note = gettext("%(n)d leaving, %(m)d months without their sales") % {"n": adj.departures, "m": lost}
        lines.append(Line("departures", gettext("Departures"), -adj.departures * per_rep * lost, note))
    factor = (1 + adj.growth_pct / 100) * (1 + adj.price_pct / 100)
    return lines, factor
