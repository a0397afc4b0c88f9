"""The org services: moves keep history and re-book the person's results of the days concerned
(facts and rollups, in the same transaction), and each action stays inside the actor's reach."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.utils import timezone

from salestarget.actuals import rollups, selectors
from salestarget.actuals.models import DailyRollup, Fact
from salestarget.actuals.services import do_import_fact_rows
from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment
from salestarget.org.services import (
    do_assign_territory,
    do_close_membership,
    do_delete_membership,
    do_end_placement,
    do_move_person,
    do_save_membership,
    do_set_territories,
)

pytestmark = pytest.mark.django_db

D = dt.date
YEAR = (D(2024, 1, 1), D(2024, 12, 31))


def import_orders(*rows: tuple[str, str, object, int]) -> None:
    """(external id, date, person, yuan) rows, imported the way facts arrive."""
    result = do_import_fact_rows(
        None,
        "order",
        [
            {"external_id": ext, "date": day, "person": p.code, "amount": str(yuan)}
            for ext, day, p, yuan in rows
        ],
        source="erp",
    )
    assert result.status == "applied", result.errors


def booked() -> dict[str, str | None]:
    """External id -> the code of the unit the fact is booked to."""
    codes = dict(OrgUnit.objects.values_list("pk", "code"))
    return {ext: codes.get(unit) for ext, unit in Fact.objects.values_list("external_id", "unit_id")}


def unit_totals() -> dict[str | None, int]:
    """Order amounts (fen) per unit code, as the dashboards read them: from the rollups."""
    codes = dict(OrgUnit.objects.values_list("pk", "code"))
    rows = DailyRollup.objects.values("unit_id").annotate(total=Sum("amount"))
    return {codes.get(r["unit_id"]): r["total"] for r in rows if r["total"]}


@pytest.fixture
def sales(company):
    """rep_sh1 sells in March, June and September 2024; rep_sh2 in June."""
    c = company
    import_orders(
        ("MAR", "2024-03-01", c.rep_sh1, 100),
        ("JUN", "2024-06-01", c.rep_sh1, 200),
        ("SEP", "2024-09-01", c.rep_sh1, 400),
        ("SH2", "2024-06-01", c.rep_sh2, 800),
    )
    assert set(booked().values()) == {"SH"}
    return c


def test_a_back_dated_move_rebooks_facts_and_rollups(sales):
    c = sales
    lead_before = selectors.total(c.lead_sh.user, selectors.metric("sales"), *YEAR)
    east_before = selectors.total(c.director_east.user, selectors.metric("sales"), *YEAR)
    assert lead_before == 150000 and unit_totals() == {"SH": 150000}
    row, changed = do_move_person(c.admin, c.rep_sh1, c.hz, valid_from=D(2024, 5, 1), reason="late paperwork")
    assert changed and (row.unit, row.valid_from, row.valid_to) == (c.hz, D(2024, 5, 1), None)
    assert list(c.rep_sh1.memberships.values_list("unit__code", "valid_from", "valid_to")) == [
        ("SH", D(2022, 1, 1), D(2024, 4, 30)),
        ("HZ", D(2024, 5, 1), None),
    ]
    assert booked() == {"MAR": "SH", "JUN": "HZ", "SEP": "HZ", "SH2": "SH"}
    assert rollups.verify() == []
    assert unit_totals() == {"SH": 90000, "HZ": 60000}
    # The lead keeps what the rep sold in the team; the director, above both teams, keeps it all.
    assert selectors.total(c.lead_sh.user, selectors.metric("sales"), *YEAR) == lead_before - 60000
    assert selectors.total(c.director_east.user, selectors.metric("sales"), *YEAR) == east_before
    assert row.history.first().history_change_reason == "late paperwork"


def test_a_rebuild_after_a_move_changes_nothing(sales):
    c = sales
    do_move_person(None, c.rep_sh1, c.sz, valid_from=D(2024, 5, 1))
    before = sorted(DailyRollup.objects.values_list("day", "person_id", "unit_id", "amount"))
    assert rollups.restamp_all() == 0
    rollups.rebuild()
    assert sorted(DailyRollup.objects.values_list("day", "person_id", "unit_id", "amount")) == before


def test_a_back_dated_move_ends_at_the_next_recorded_move(sales):
    c = sales
    do_move_person(None, c.rep_sh1, c.sz, valid_from=D(2024, 8, 1))
    row, _changed = do_move_person(None, c.rep_sh1, c.hz, valid_from=D(2024, 5, 1))
    assert (row.valid_from, row.valid_to) == (D(2024, 5, 1), D(2024, 7, 31))
    assert booked() == {"MAR": "SH", "JUN": "HZ", "SEP": "SZ", "SH2": "SH"}
    assert rollups.verify() == []


def test_moving_into_the_unit_of_the_next_move_starts_that_move_earlier(sales):
    c = sales
    later, _changed = do_move_person(None, c.rep_sh1, c.sz, valid_from=D(2024, 8, 1))
    row, _changed = do_move_person(None, c.rep_sh1, c.sz, valid_from=D(2024, 5, 1))
    assert row.pk == later.pk and c.rep_sh1.memberships.count() == 2
    assert booked()["JUN"] == "SZ" and rollups.verify() == []


def test_a_second_move_on_the_same_day_replaces_the_first(sales):
    c = sales
    first, _changed = do_move_person(None, c.rep_sh1, c.hz, valid_from=D(2024, 5, 1))
    second, changed = do_move_person(None, c.rep_sh1, c.sz, valid_from=D(2024, 5, 1))
    assert changed and second.pk == first.pk and second.unit == c.sz
    assert c.rep_sh1.memberships.count() == 2
    assert booked() == {"MAR": "SH", "JUN": "SZ", "SEP": "SZ", "SH2": "SH"}
    assert unit_totals() == {"SH": 90000, "SZ": 60000} and rollups.verify() == []
    again, changed = do_move_person(None, c.rep_sh1, c.sz, valid_from=D(2024, 5, 1))
    assert not changed and again.pk == first.pk


def test_a_future_move_leaves_today_and_the_past_alone(sales):
    c = sales
    today = timezone.localdate()
    start = today + dt.timedelta(days=30)
    do_move_person(c.director_east.user, c.rep_sh1, c.hz, valid_from=start)
    assert c.rep_sh1.unit_on(today) == c.sh and c.rep_sh1.unit_on(start) == c.hz
    assert set(booked().values()) == {"SH"} and rollups.verify() == []
    # Until then the rep is still the lead's.
    assert c.rep_sh1 in Person.objects.restrict(c.lead_sh.user, "change")


def test_members_count_before_managers_and_closing_rebooks(sales):
    """A player-coach's sales count for the team they are a member of; without it, for the unit
    they lead, and with neither, for no unit."""
    c = sales
    do_move_person(None, c.rep_sh1, c.east, role=Membership.Role.MANAGER, valid_from=D(2024, 1, 1))
    assert c.rep_sh1.memberships.count() == 2 and set(booked().values()) == {"SH"}
    member = c.rep_sh1.memberships.get(role=Membership.Role.MEMBER)
    do_close_membership(None, member, valid_to=D(2024, 5, 31))
    assert booked() == {"MAR": "SH", "JUN": "EAST", "SEP": "EAST", "SH2": "SH"}
    leading = c.rep_sh1.memberships.get(role=Membership.Role.MANAGER)
    do_close_membership(None, leading, valid_to=D(2024, 8, 31))
    assert booked()["SEP"] is None and booked()["JUN"] == "EAST"
    # Correcting the end to a later day gives those days back.
    do_close_membership(None, member, valid_to=D(2024, 6, 30))
    assert booked()["JUN"] == "SH" and rollups.verify() == []


def test_a_manager_may_lead_several_units(company):
    c = company
    do_move_person(None, c.lead_sz, c.hz, role=Membership.Role.MANAGER, valid_from=D(2024, 1, 1))
    led = c.lead_sz.memberships.filter(role=Membership.Role.MANAGER, valid_to__isnull=True)
    assert set(led.values_list("unit__code", flat=True)) == {"SZ", "HZ"}
    _row, changed = do_move_person(
        None, c.lead_sz, c.hz, role=Membership.Role.MANAGER, valid_from=D(2024, 3, 1)
    )
    assert not changed


def test_a_leaver_stops_counting_for_the_team(sales):
    c = sales
    do_move_person(None, c.rep_sh1, c.hz, valid_from=D(2024, 8, 1))
    assert do_end_placement(None, c.rep_sh1, last_day=D(2024, 5, 31))
    assert booked() == {"MAR": "SH", "JUN": None, "SEP": "HZ", "SH2": "SH"}
    assert rollups.verify() == []
    assert not do_end_placement(None, c.rep_sh1, last_day=D(2024, 5, 31))


def test_an_overlapping_membership_is_refused_and_nothing_changes(sales):
    c = sales
    with pytest.raises(ValidationError):
        do_save_membership(None, Membership(person=c.rep_sh1, unit=c.hz, valid_from=D(2024, 1, 1)))
    member = c.rep_sh1.memberships.get()
    with pytest.raises(ValidationError):
        do_close_membership(None, member, valid_to=D(2021, 12, 31))
    assert c.rep_sh1.memberships.get().valid_to is None and set(booked().values()) == {"SH"}


def test_editing_or_deleting_a_membership_rebooks_both_people(sales):
    c = sales
    row = c.rep_sh2.memberships.get()
    do_close_membership(None, c.rep_sh1.memberships.get(), valid_to=D(2024, 4, 30))
    row.unit = c.sz
    do_save_membership(None, row)
    assert booked()["SH2"] == "SZ"
    do_delete_membership(None, row)
    assert booked()["SH2"] is None and booked()["JUN"] is None
    moved = Membership(person=c.rep_sh1, unit=c.hz, valid_from=D(2024, 5, 1))
    do_save_membership(None, moved)
    moved.person = c.rep_sh2
    do_save_membership(None, moved)
    assert booked() == {"MAR": "SH", "JUN": None, "SEP": None, "SH2": "HZ"}
    assert rollups.verify() == []


# --- who may ----------------------------------------------------------------------------


def test_reps_may_not_move_anyone(company):
    c = company
    with pytest.raises(PermissionDenied):
        do_move_person(c.rep_sh1.user, c.rep_sh1, c.hz, valid_from=D(2024, 5, 1))
    with pytest.raises(PermissionDenied):
        do_close_membership(c.rep_sh1.user, c.rep_sh1.memberships.get(), valid_to=D(2024, 5, 1))
    assert c.rep_sh1.memberships.get().valid_to is None


def test_a_manager_moves_people_only_within_their_subtrees(sales):
    c = sales
    lead = c.lead_sh.user
    with pytest.raises(PermissionDenied):  # out of the lead's team
        do_move_person(lead, c.rep_sh1, c.hz, valid_from=D(2024, 5, 1))
    with pytest.raises(PermissionDenied):  # someone else's rep
        do_move_person(lead, c.rep_sz, c.sh, valid_from=D(2024, 5, 1))
    with pytest.raises(PermissionDenied):  # the director may not take a rep from the south
        do_move_person(c.director_east.user, c.rep_sz, c.hz, valid_from=D(2024, 5, 1))
    with pytest.raises(PermissionDenied):
        do_close_membership(c.director_east.user, c.rep_sz.memberships.get(), valid_to=D(2024, 5, 1))
    with pytest.raises(PermissionDenied):
        do_delete_membership(lead, c.rep_hz.memberships.get())
    assert set(booked().values()) == {"SH"} and Membership.objects.count() == 8
    do_move_person(c.director_east.user, c.rep_sh1, c.hz, valid_from=D(2024, 5, 1))
    assert booked()["JUN"] == "HZ"


def test_territories_are_set_within_reach(company):
    c = company
    day = D(2024, 1, 1)
    _row, created, changed = do_assign_territory(c.lead_sh.user, c.rep_sh1, c.shanghai, valid_from=day)
    assert created and changed
    assert do_assign_territory(None, c.rep_sh1, c.shanghai, valid_from=D(2024, 2, 1))[1:] == (False, False)
    with pytest.raises(PermissionDenied):
        do_assign_territory(c.lead_sh.user, c.rep_sz, c.guangdong, valid_from=day)
    with pytest.raises(PermissionDenied):
        do_set_territories(c.rep_sh1.user, c.rep_sh1, [c.guangdong], valid_from=day)
    covering = do_set_territories(c.lead_sh.user, c.rep_sh1, [c.guangdong, c.china], valid_from=D(2024, 7, 1))
    assert {t.region for t in covering} == {c.guangdong, c.china}
    rows = TerritoryAssignment.objects.filter(person=c.rep_sh1).order_by("region__code", "valid_from")
    assert list(rows.values_list("region__code", "valid_from", "valid_to")) == [
        ("CN", D(2024, 7, 1), None),
        ("GD", D(2024, 7, 1), None),
        ("SHA", day, D(2024, 6, 30)),
    ]
    # The same day again: an assignment begun that day and no longer wanted goes.
    do_set_territories(None, c.rep_sh1, [c.china], valid_from=D(2024, 7, 1))
    assert set(rows.values_list("region__code", flat=True)) == {"CN", "SHA"}


# --- the admin ------------------------------------------------------------------------------


def test_the_admin_edits_memberships_through_the_services(client, sales):
    c = sales
    client.force_login(c.admin)
    row = c.rep_sh1.memberships.get()
    response = client.post(
        f"/admin/org/membership/{row.pk}/change/",
        {
            "person": c.rep_sh1.pk,
            "unit": c.sh.pk,
            "role": "member",
            "valid_from": "2022-01-01",
            "valid_to": "2024-04-30",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post(
        "/admin/org/membership/add/",
        {"person": c.rep_sh1.pk, "unit": c.hz.pk, "role": "member", "valid_from": "2024-05-01"},
    )
    assert response.status_code == 302
    assert booked() == {"MAR": "SH", "JUN": "HZ", "SEP": "HZ", "SH2": "SH"}
    added = c.rep_sh1.memberships.get(unit=c.hz)
    response = client.post(f"/admin/org/membership/{added.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert booked()["SEP"] is None and rollups.verify() == []


def test_the_person_admin_saves_membership_rows_through_the_services(client, sales):
    """Each inline row is checked against the stored ones, so a move takes two saves: end the
    old membership, then add the new one."""
    c = sales
    client.force_login(c.admin)
    person, row = c.rep_sh1, c.rep_sh1.memberships.get()

    def post(*memberships: dict):
        data = {
            "code": person.code,
            "name": person.name,
            "tier": person.tier,
            "hire_date": person.hire_date.isoformat(),
            "status": person.status,
            "user": person.user_id,
        }
        for prefix, forms, initial in (("memberships", memberships, 1), ("territories", (), 0)):
            data |= {
                f"{prefix}-TOTAL_FORMS": len(forms),
                f"{prefix}-INITIAL_FORMS": initial,
                f"{prefix}-MIN_NUM_FORMS": 0,
                f"{prefix}-MAX_NUM_FORMS": 1000,
            }
            for n, form in enumerate(forms):
                data |= {f"{prefix}-{n}-{name}": value for name, value in form.items()}
        response = client.post(f"/admin/org/person/{person.pk}/change/", data)
        assert response.status_code == 302, response.context and response.context["errors"]

    old = {"id": row.pk, "person": person.pk, "unit": c.sh.pk, "role": "member", "valid_from": "2022-01-01"}
    post({**old, "valid_to": "2024-04-30"})
    assert booked() == {"MAR": "SH", "JUN": None, "SEP": None, "SH2": "SH"}
    new = {"person": person.pk, "unit": c.sz.pk, "role": "member", "valid_from": "2024-05-01"}
    post({**old, "valid_to": "2024-04-30"}, new)
    assert booked() == {"MAR": "SH", "JUN": "SZ", "SEP": "SZ", "SH2": "SH"}
    assert rollups.verify() == []
