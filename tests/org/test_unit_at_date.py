"""The unit a person's results count for on a day is one rule, asked two ways: UnitAtDate in
Python (the import, one lookup per row) and UnitAtDate.sql (re-booking facts set-based). Random
membership histories, including overlaps, player-coaches and leaders of several units, must
get the same answer from both on every day."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salestarget.org.models import Membership, UnitAtDate
from tests.factories import OrgUnitFactory, PersonFactory

DAY0 = dt.date(2024, 1, 1)
RUNS = itertools.count()

spans = st.lists(
    st.tuples(
        st.integers(0, 2),  # which unit
        st.sampled_from([Membership.Role.MEMBER, Membership.Role.MANAGER]),
        st.integers(0, 60),  # start, days after DAY0
        st.one_of(st.none(), st.integers(0, 60)),  # length, open-ended when None
    ),
    min_size=0,
    max_size=5,
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=spans)
def test_the_python_and_the_sql_rule_agree(history):
    Membership.objects.all().delete()
    run = next(RUNS)
    units = [OrgUnitFactory(code=f"U{i}-{run}") for i in range(3)]
    person = PersonFactory()
    for unit, role, start, length in history:
        begin = DAY0 + dt.timedelta(days=start)
        Membership.objects.create(
            person=person,
            unit=units[unit],
            role=role,
            valid_from=begin,
            valid_to=None if length is None else begin + dt.timedelta(days=length),
        )
    days = [DAY0 + dt.timedelta(days=n) for n in range(0, 125, 3)]
    rule = UnitAtDate()
    sql = UnitAtDate.sql("d", person="person_id", date="day")
    values = " UNION ALL ".join(f"SELECT {person.pk} AS person_id, %s AS day" for _ in days)
    with connection.cursor() as cursor:
        cast = "::date" if connection.vendor == "postgresql" else ""
        values = values.replace("%s AS day", f"%s{cast} AS day")
        cursor.execute(f"SELECT d.day, {sql} FROM ({values}) d ORDER BY d.day", days)
        from_sql = {
            (day if isinstance(day, dt.date) else dt.date.fromisoformat(day)): unit for day, unit in cursor
        }
    for day in days:
        assert rule(person.pk, day.isoformat()) == from_sql[day], (day, history)
        assert person.unit_on(day) == (
            None if from_sql[day] is None else type(units[0]).objects.get(pk=from_sql[day])
        )
