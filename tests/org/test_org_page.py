"""Issue 12, item 6b: the org page counts everyone below a unit, not only its direct members."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import translation

from salestarget.org.models import Membership
from salestarget.org.selectors import org_chart
from tests.factories import MembershipFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_language():
    """A request activates its language for the thread: put back the one the next test expects."""
    old = translation.get_language()
    yield
    if old:
        translation.activate(old)
    else:
        translation.deactivate()


def expected_headcounts(company) -> dict[str, int]:
    """Written out from the company fixture: people with a member or manager membership today."""
    return {"HQ": 8, "EAST": 5, "SOUTH": 2, "SH": 3, "HZ": 1, "SZ": 2}


def test_the_chart_counts_the_subtree(company):
    rows = {row.unit.code: row for row in org_chart(company.admin)}
    assert {code: row.headcount for code, row in rows.items()} == expected_headcounts(company)
    # Direct members stay as they were: the team's reps, nobody on the company's own row.
    assert {p.pk for p in rows["SH"].members} == {company.rep_sh1.pk, company.rep_sh2.pk}
    assert rows["HQ"].members == []


def test_ended_and_future_memberships_do_not_count_and_people_count_once(company):
    today = dt.date.today()
    gone = PersonFactory(name="离职")
    MembershipFactory(
        person=gone, unit=company.hz, valid_from=dt.date(2022, 1, 1), valid_to=today - dt.timedelta(days=1)
    )
    later = PersonFactory(name="未入职")
    MembershipFactory(person=later, unit=company.hz, valid_from=today + dt.timedelta(days=3))
    # The director also manages a team below: still one person in the region.
    MembershipFactory(
        person=company.director_east,
        unit=company.hz,
        role=Membership.Role.MANAGER,
        valid_from=dt.date(2022, 1, 1),
    )
    rows = {row.unit.code: row for row in org_chart(company.admin)}
    assert rows["HZ"].headcount == 2
    assert rows["EAST"].headcount == 5
    assert rows["HQ"].headcount == 8


def test_the_page_shows_the_subtree_count(client, company, login):
    login("admin")
    html = client.get(reverse("org:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    shown = dict(re.findall(r'data-testid="headcount-(\w+)"[^>]*>\s*(\d+)', html))
    assert {k: int(v) for k, v in shown.items()} == expected_headcounts(company)


def test_a_director_sees_the_count_of_their_region(client, company, login):
    login("director_east")
    html = client.get(reverse("org:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    shown = dict(re.findall(r'data-testid="headcount-(\w+)"[^>]*>\s*(\d+)', html))
    assert int(shown["EAST"]) == 5
