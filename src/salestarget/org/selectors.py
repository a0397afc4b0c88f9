"""Reads of the organisation for pages and exports, scoped through restrict(user, action)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from salestarget.org.models import Membership, OrgUnit, Person, active_on


@dataclass
class UnitRow:
    unit: OrgUnit
    depth: int
    managers: list[Person]
    members: list[Person]


def org_chart(user, day: dt.date | None = None) -> list[UnitRow]:
    """Visible units in tree order with who manages and who belongs to each on ``day``."""
    day = day or timezone.localdate()
    units = list(OrgUnit.objects.restrict(user).order_by("path"))
    visible_people = Person.objects.restrict(user)
    rows = (
        Membership.objects.filter(active_on(day), unit__in=units, person__in=visible_people)
        .select_related("person")
        .order_by("person__code")
    )
    managers: dict[int, list[Person]] = {}
    members: dict[int, list[Person]] = {}
    for m in rows:
        (managers if m.role == Membership.Role.MANAGER else members).setdefault(m.unit_id, []).append(
            m.person
        )
    top = min((u.depth for u in units), default=0)
    return [UnitRow(u, u.depth - top, managers.get(u.pk, []), members.get(u.pk, [])) for u in units]
