"""团队日报 on a day off: the page opens on the last working day of the company calendar, and a
day off asked for explicitly flags nobody as missing (QA: on a Saturday "8 人未提交")."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from salestarget.actuals.models import DailyReport
from salestarget.metrics.models import CalendarDay

pytestmark = pytest.mark.django_db

SATURDAY = dt.date(2024, 3, 9)
FRIDAY = dt.date(2024, 3, 8)


def at_noon(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(12), ZoneInfo("Asia/Shanghai")), tick=False)


def team_page(client, company, **query):
    client.force_login(company.lead_sh.user)
    return client.get(reverse("actuals:unreported"), query, HTTP_ACCEPT_LANGUAGE="en")


def people(rows) -> set:
    return {r["membership"].person for r in rows}


def report(person, day):
    return DailyReport.objects.create(person=person, day=day, submitted_by=person.user)


@pytest.mark.parametrize(
    "today, expected",
    [
        (FRIDAY, FRIDAY),  # a working day: that day, as before
        (SATURDAY, FRIDAY),
        (dt.date(2024, 3, 10), FRIDAY),  # Sunday
        (dt.date(2024, 10, 6), dt.date(2024, 9, 30)),  # in the National Day week
        (dt.date(2024, 9, 29), dt.date(2024, 9, 29)),  # a Sunday worked in exchange (调休)
    ],
)
def test_the_page_opens_on_the_last_working_day(client, company, today, expected):
    with at_noon(today):
        page = team_page(client, company)
    assert page.context["day"] == expected
    assert people(page.context["missing"]) == {company.rep_sh1, company.rep_sh2}


def test_a_company_day_off_counts_too(client, company):
    CalendarDay.objects.create(date=FRIDAY, kind=CalendarDay.Kind.COMPANY_OFF, name="团建")
    with at_noon(SATURDAY):
        page = team_page(client, company)
    assert page.context["day"] == dt.date(2024, 3, 7)


def test_opened_on_a_saturday_it_says_which_day_it_shows(client, company):
    report(company.rep_sh1, FRIDAY)
    with at_noon(SATURDAY):
        page = team_page(client, company)
    html = page.content.decode()
    assert people(page.context["done"]) == {company.rep_sh1}
    assert people(page.context["missing"]) == {company.rep_sh2}
    assert "Today is not a working day: showing 2024-03-08, the last working day." in html
    assert 'value="2024-03-08"' in html


@pytest.mark.parametrize("day", [SATURDAY, dt.date(2024, 10, 3)])
def test_a_day_off_chosen_explicitly_flags_nobody(client, company, day):
    report(company.rep_sh2, day)  # someone worked anyway: still listed as having reported
    with at_noon(dt.date(2024, 10, 8)):
        page = team_page(client, company, day=day.isoformat())
    html = page.content.decode()
    assert page.context["day"] == day
    assert page.context["missing"] == []
    assert people(page.context["done"]) == {company.rep_sh2}
    assert f"{day.isoformat()} is not a working day: nobody is expected to file a daily report." in html
    assert 'data-testid="missing"' not in html and "not reported" not in html


def test_reports_filed_on_the_day_off_are_one_click_away(client, company):
    """QA: a rep reported on Saturday; the lead's page opened on Friday and did not say so."""
    report(company.rep_sh1, SATURDAY)
    with at_noon(SATURDAY):
        html = team_page(client, company).content.decode()
    assert 'href="?day=2024-03-09" data-testid="reported-today">1 report filed today</a>' in html
    with at_noon(dt.date(2024, 3, 10)):  # Sunday: nothing filed that day
        assert 'data-testid="reported-today"' not in team_page(client, company).content.decode()
