"""Actions on people's placement — memberships and territories. The only code that writes them.

Every action takes the acting user (None for the command line, which runs with full rights),
checks with ``scope_of(user).reach(Action.CHANGE)`` that the person (by today) and every unit
it touches lie in the subtrees the user manages — administrators and sales operations reach
everything, so a manager cannot move results into or out of someone else's team — and runs in
one transaction.

Which unit a person belonged to on a day decides where their results count: facts are booked
to it when they arrive. So a change that alters a person's unit on some days sends
:data:`placement_changed` inside the same transaction, and the actuals app re-books the facts
dated then, and their rollups, before anything commits. A signal rather than a call because
the other apps depend on org, and org on none of them (docs/architecture.md).

Rows are written through ``save()``, never ``QuerySet.update()``, so that the journal of a
master-data import sees them and its rollback can put them back (actuals/journal.py). Rows are
never deleted on the way either, except by :func:`do_delete_membership` (the admin's repair).
``reason`` goes into the record's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext

from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment, active_on
from salestarget.org.permissions import EVERYTHING, Action, Reach, scope_of

ONE_DAY = dt.timedelta(days=1)

# Sent with person_id, start and end (None: open-ended): the days on which the person's unit
# may now differ from what was booked.
placement_changed = Signal()


def _reach(user) -> Reach:
    if user is None:
        return EVERYTHING
    reach = scope_of(user).reach(Action.CHANGE)
    if reach.nothing:
        raise PermissionDenied(gettext("You may not change who belongs to which unit."))
    return reach


def _check(reach: Reach, *, people: Iterable[int], units: Iterable[int] = ()) -> None:
    if reach.everything:
        return
    people, units = set(people), set(units)
    if Person.objects.within(reach, Action.CHANGE).filter(pk__in=people).count() < len(people):
        raise PermissionDenied(
            gettext("You may only change the placement of people in the units you manage.")
        )
    if OrgUnit.objects.filter(reach.units_q(""), pk__in=units).count() < len(units):
        raise PermissionDenied(gettext("You may only place people in the units you manage."))


def _for_history(row, user, reason: str) -> None:
    row._change_reason = reason[:100] or None
    if user is not None:
        row._history_user = user


def _save(row, user, reason: str) -> None:
    row.full_clean()
    _for_history(row, user, reason)
    row.save()


def _changed(spans: Iterable[tuple[int, dt.date, dt.date | None]]) -> None:
    """Announce one span per person covering all the given ones, so each is re-booked once."""
    merged: dict[int, tuple[dt.date, dt.date | None]] = {}
    for person_id, start, end in spans:
        if person_id in merged:
            first, last = merged[person_id]
            start = min(start, first)
            end = None if end is None or last is None else max(end, last)
        merged[person_id] = (start, end)
    for person_id, (start, end) in sorted(merged.items()):
        placement_changed.send(sender=Membership, person_id=person_id, start=start, end=end)


# --- memberships -----------------------------------------------------------------------


@transaction.atomic
def do_move_person(
    user,
    person: Person,
    unit: OrgUnit,
    *,
    role: str = Membership.Role.MEMBER,
    valid_from: dt.date,
    reason: str = "",
) -> tuple[Membership, bool]:
    """Place ``person`` in ``unit`` from ``valid_from`` on, keeping history; back-dated, today
    or ahead of time alike.

    A member belongs to one team at a time: the team they were in that day ends the day before,
    or, when that membership began that very day, it is corrected to the new unit (a second move
    on the same day replaces the first). A manager may lead several units, so leading ``unit``
    is added to what they lead; :func:`do_close_membership` ends the rest. Later memberships are
    kept: a back-dated move lasts until the person's next recorded move. Returns the membership
    that covers ``valid_from`` and whether anything changed."""
    reach = _reach(user)
    role = Membership.Role(role)
    _check(reach, people=[person.pk], units=[unit.pk])
    rows = Membership.objects.select_for_update().filter(person=person, role=role)
    if role == Membership.Role.MANAGER:
        rows = rows.filter(unit=unit)
    current = rows.filter(active_on(valid_from)).order_by("valid_from").first()
    if current is not None and current.unit_id == unit.pk:
        return current, False
    later = rows.filter(valid_from__gt=valid_from).order_by("valid_from").first()
    if current is None:
        end = later.valid_from - ONE_DAY if later is not None else None
    else:
        _check(reach, people=[], units=[current.unit_id])
        end = current.valid_to
        if current.valid_from == valid_from:
            current.unit = unit
            _save(current, user, reason)
            _changed([(person.pk, valid_from, end)])
            return current, True
        current.valid_to = valid_from - ONE_DAY
        _save(current, user, reason)
    if (
        later is not None
        and later.unit_id == unit.pk
        and end is not None
        and later.valid_from == end + ONE_DAY
    ):
        # The next membership is in the same unit: it starts earlier instead of a second row.
        row = later
        row.valid_from = valid_from
    else:
        row = Membership(person=person, unit=unit, role=role, valid_from=valid_from, valid_to=end)
    _save(row, user, reason)
    _changed([(person.pk, valid_from, end)])
    return row, True


@transaction.atomic
def do_close_membership(user, membership: Membership, *, valid_to: dt.date, reason: str = "") -> Membership:
    """End ``membership`` on ``valid_to``, inclusive (a leaver's last day, a manager handing a
    unit over), or correct the day it ended."""
    reach = _reach(user)
    row = Membership.objects.select_for_update().get(pk=membership.pk)
    _check(reach, people=[row.person_id], units=[row.unit_id])
    _changed(_close(row, valid_to, user, reason))
    return row


@transaction.atomic
def do_end_placement(user, person: Person, *, last_day: dt.date, reason: str = "") -> bool:
    """A leaver: every membership running past their last day ends on it. Returns whether any
    did."""
    reach = _reach(user)
    rows = list(
        Membership.objects.select_for_update()
        .filter(person=person, valid_from__lte=last_day)
        .exclude(valid_to__lte=last_day)
    )
    _check(reach, people=[person.pk], units={row.unit_id for row in rows})
    _changed([span for row in rows for span in _close(row, last_day, user, reason)])
    return bool(rows)


def _close(
    row: Membership, valid_to: dt.date, user, reason: str
) -> list[tuple[int, dt.date, dt.date | None]]:
    old = row.valid_to
    if old == valid_to:
        return []
    row.valid_to = valid_to
    _save(row, user, reason)
    if old is None:
        return [(row.person_id, valid_to + ONE_DAY, None)]
    return [(row.person_id, min(old, valid_to) + ONE_DAY, max(old, valid_to))]


@transaction.atomic
def do_save_membership(user, membership: Membership, *, reason: str = "") -> Membership:
    """Record a membership exactly as given, new or edited in any field: the admin's repair
    path, for what the moves above cannot express."""
    reach = _reach(user)
    old = Membership.objects.select_for_update().filter(pk=membership.pk).first() if membership.pk else None
    people, units = {membership.person_id}, {membership.unit_id}
    spans = [(membership.person_id, membership.valid_from, membership.valid_to)]
    if old is not None:
        people.add(old.person_id)
        units.add(old.unit_id)
        spans.append((old.person_id, old.valid_from, old.valid_to))
    _check(reach, people=people, units=units)
    _save(membership, user, reason)
    _changed(spans)
    return membership


@transaction.atomic
def do_delete_membership(user, membership: Membership, *, reason: str = "") -> None:
    """Remove a membership recorded by mistake; the person's results of those days go back to
    whatever other membership covers them, or to no unit."""
    reach = _reach(user)
    row = Membership.objects.select_for_update().get(pk=membership.pk)
    _check(reach, people=[row.person_id], units=[row.unit_id])
    _for_history(row, user, reason)
    row.delete()
    _changed([(row.person_id, row.valid_from, row.valid_to)])


# --- territories -----------------------------------------------------------------------


@transaction.atomic
def do_assign_territory(
    user,
    person: Person,
    region,
    *,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    reason: str = "",
    extend_later: bool = False,
) -> tuple[TerritoryAssignment, bool, bool]:
    """``person`` covers ``region`` from ``valid_from`` (to ``valid_to``). An assignment of the
    region already running that day is kept, taking the given end if there is one, so that a
    territory file can be imported again. With ``extend_later`` (a start the row did not state:
    a file imported again with an earlier effective date), an assignment of the region that
    starts later, and that the new one would run into, starts earlier instead; otherwise such
    a row contradicts it and is refused. Returns the assignment, whether it is new, and whether
    anything changed."""
    _check(_reach(user), people=[person.pk])
    same = TerritoryAssignment.objects.select_for_update().filter(person=person, region=region)
    current = same.filter(active_on(valid_from)).order_by("valid_from").first()
    if current is not None:
        if valid_to is None or current.valid_to == valid_to:
            return current, False, False
        current.valid_to = valid_to
        _save(current, user, reason)
        return current, False, True
    later = same.filter(valid_from__gt=valid_from).order_by("valid_from").first()
    if extend_later and later is not None and (valid_to is None or valid_to >= later.valid_from - ONE_DAY):
        later.valid_from = valid_from
        _save(later, user, reason)
        return later, False, True
    row = TerritoryAssignment(person=person, region=region, valid_from=valid_from, valid_to=valid_to)
    _save(row, user, reason)
    return row, True, True


@transaction.atomic
def do_set_territories(
    user, person: Person, regions: Iterable, *, valid_from: dt.date, reason: str = ""
) -> list[TerritoryAssignment]:
    """From ``valid_from`` on, ``person`` covers exactly ``regions``: the other regions they
    covered that day end the day before (an assignment that began that very day is removed),
    and each new region runs until its next recorded assignment. Later assignments are kept.
    Returns the assignments covering ``valid_from``."""
    _check(_reach(user), people=[person.pk])
    wanted = {region.pk: region for region in regions}
    mine = TerritoryAssignment.objects.select_for_update().filter(person=person)
    covering = []
    for row in mine.filter(active_on(valid_from)).order_by("valid_from"):
        if row.region_id in wanted:
            covering.append(row)
            wanted.pop(row.region_id)
        elif row.valid_from == valid_from:
            _for_history(row, user, reason)
            row.delete()
        else:
            row.valid_to = valid_from - ONE_DAY
            _save(row, user, reason)
    for region in wanted.values():
        later = mine.filter(region=region, valid_from__gt=valid_from).order_by("valid_from").first()
        end = later.valid_from - ONE_DAY if later is not None else None
        row = TerritoryAssignment(person=person, region=region, valid_from=valid_from, valid_to=end)
        _save(row, user, reason)
        covering.append(row)
    return covering
