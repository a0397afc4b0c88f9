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
    # Everyone with a member or manager membership on the day in this unit or any unit below
    # it, counted once: the company's and regions' people, who are nearly all in teams.
    headcount: int = 0


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
    below: dict[int, set[int]] = {}  # unit -> the people in its subtree
    paths = {u.pk: u.path for u in units}
    for m in rows:
        (managers if m.role == Membership.Role.MANAGER else members).setdefault(m.unit_id, []).append(
            m.person
        )
        # The unit's path names it and every unit above it: /1/7/42/.
        for ancestor in paths[m.unit_id].strip("/").split("/"):
            below.setdefault(int(ancestor), set()).add(m.person_id)
    top = min((u.depth for u in units), default=0)
    return [
        UnitRow(u, u.depth - top, managers.get(u.pk, []), members.get(u.pk, []), len(below.get(u.pk, ())))
        for u in units
    ]
