"""What a recommendation is about: a scope the user may see, and a fiscal period.

A scope the user may not look at raises ``ScopeNotVisible`` instead of quietly returning a
smaller number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salestarget.catalog.models import Product, Region
from salestarget.core.errors import DomainError
from salestarget.engine.calendar import FiscalCalendar, Period
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import OrgUnit, Person
from salestarget.org.permissions import Action, scope_of


class ScopeNotVisible(LookupError):
    """The requested unit or person does not exist or lies outside what the user may see.

    One exception for both cases, so that a 404 does not reveal which ids exist.
    """


@dataclass(frozen=True)
class TargetScope:
    """Any combination of a unit subtree, a person, a product subtree and a region subtree."""

    unit: OrgUnit | None = None
    person: Person | None = None
    product: Product | None = None
    region: Region | None = None

    def label(self) -> str:
        parts = [str(x.name) for x in (self.unit, self.person, self.product, self.region) if x is not None]
        return " · ".join(parts) or _("Everything you can see")

    def ids(self) -> dict[str, int | None]:
        """{"unit_id": …, "person_id": …, "product_id": …, "region_id": …}, as resolve_scope takes them."""
        return {
            f"{name}_id": None if obj is None else obj.pk
            for name, obj in (
                ("unit", self.unit),
                ("person", self.person),
                ("product", self.product),
                ("region", self.region),
            )
        }

    def to_dict(self) -> dict:
        def ref(obj):
            return None if obj is None else {"id": obj.pk, "code": obj.code, "name": obj.name}

        return {
            "unit": ref(self.unit),
            "person": ref(self.person),
            "product": ref(self.product),
            "region": ref(self.region),
            "label": self.label(),
        }


def selectable_units(user):
    """Units a user may ask about: their managed subtrees (everything for an admin).

    A rep's own team is not offered: its total includes colleagues' sales they may not see.
    """
    reach = scope_of(user).reach(Action.VIEW)
    if not (reach.everything or reach.paths):
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(reach.units_q(""))


def selectable_people(user):
    return Person.objects.restrict(user)


def resolve_scope(
    user,
    *,
    unit_id: int | None = None,
    person_id: int | None = None,
    product_id: int | None = None,
    region_id: int | None = None,
) -> TargetScope:
    """Look the ids up within what the user may see; with no unit or person, default to the
    user's own responsibility (the company, the managed unit, or the rep themselves)."""
    reach = scope_of(user).reach(Action.VIEW)
    if reach.nothing:
        raise ScopeNotVisible(_("You have no sales data to plan for."))

    def pick(qs, pk):
        if pk is None:
            return None
        obj = qs.filter(pk=pk).first()
        if obj is None:
            raise ScopeNotVisible(_("No such unit, person, product or region among those you may see."))
        return obj

    unit = pick(selectable_units(user), unit_id)
    person = pick(selectable_people(user), person_id)
    product = pick(Product.objects.restrict(user), product_id)
    region = pick(Region.objects.restrict(user), region_id)
    if unit is None and person is None:
        if reach.everything:
            roots = list(OrgUnit.objects.filter(parent__isnull=True)[:2])
            unit = roots[0] if len(roots) == 1 else None
        elif reach.paths:
            unit = OrgUnit.objects.filter(path=reach.paths[0]).first()
        else:
            person = Person.objects.get(pk=reach.person_id)
    return TargetScope(unit=unit, person=person, product=product, region=region)


def resolve_period(
    cal: FiscalCalendar,
    year: int | None = None,
    quarter: int | None = None,
    month: int | None = None,
    today: dt.date | None = None,
    *,
    half: int | None = None,
) -> Period:
    """A fiscal year, one of its halves or quarters, or one of its (calendar) months; next year
    by default."""
    today = today or timezone.localdate()
    fy = year if year is not None else cal.fiscal_year_of(today) + 1
    if not 2000 <= fy <= 2100:
        raise DomainError(gettext_lazy("The year must lie between 2000 and 2100."))
    if sum(x is not None for x in (half, quarter, month)) > 1:
        raise DomainError(gettext_lazy("Choose one part of the year: a half, a quarter or a month."))
    period = cal.year(fy)
    if half is not None:
        if half not in (1, 2):
            raise DomainError(gettext_lazy("The half year must be 1 or 2."))
        return period.children("half")[half - 1]
    if quarter is not None:
        if not 1 <= quarter <= 4:
            raise DomainError(gettext_lazy("The quarter must be 1 to 4."))
        return period.children("quarter")[quarter - 1]
    if month is not None:
        if not 1 <= month <= 12:
            raise DomainError(gettext_lazy("The month must be 1 to 12."))
        return next(m for m in period.children("month") if m.start.month == month)
    return period


def backtest_levels(user) -> list[tuple[str, str]]:
    """(value, label) choices: reps, and each unit depth the user manages."""
    levels = [("rep", _("Sales reps"))]
    depths = sorted(set(selectable_units(user).values_list("depth", flat=True)))
    levels += [(str(d), _("Units at level %(d)d") % {"d": d + 1}) for d in depths]
    return levels


# Words for unit depths: "company" and "region" are fixed depths, "unit" the deepest level
# of units the user may see (the teams).
LEVEL_DEPTHS = {"company": 0, "region": 1}
LEVEL_WORDS = ("rep", "unit", *LEVEL_DEPTHS)


def backtest_depth(user, level: str) -> int | None:
    """The unit depth a backtest ``level`` means (None for "rep"): "rep", "unit" (the deepest
    units the user may see), "company" (0), "region" (1) or a depth as digits."""
    level = (level or "").strip().lower()
    if level == "rep":
        return None
    if level == "unit":
        deepest = selectable_units(user).aggregate(d=Max("depth"))["d"]
        if deepest is None:
            raise DomainError(gettext_lazy("You manage no units at that level."))
        return deepest
    if level in LEVEL_DEPTHS:
        return LEVEL_DEPTHS[level]
    if level.isascii() and level.isdigit() and len(level) <= 2:
        return int(level)
    raise DomainError(
        gettext_lazy(
            'Unknown level "%(level)s". Use "rep", "unit" (the lowest units), "company", "region" '
            "or a unit depth (0 the company, 1 its regions, and so on)."
        ),
        level=level[:32],
    )


def last_complete_year(today: dt.date | None = None) -> int:
    """The fiscal year before the current one: the latest that can be replayed in full."""
    return fiscal_calendar().fiscal_year_of(today or timezone.localdate()) - 1
