"""Issue 12: "last year" is a complete year, new hires stay in the bottom-up table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone

from salestarget.actuals.models import DailyRollup
from salestarget.engine.calendar import add_months
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import stored
from salestarget.targets.recommendations import NEW_REP_MODEL
from salestarget.targets.scope import resolve_scope
from tests.factories import MembershipFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _sum(start: dt.date, end: dt.date) -> int:
    return DailyRollup.objects.filter(day__gte=start, day__lte=end).aggregate(v=Sum("amount"))["v"]


def test_last_year_is_the_last_complete_year_not_this_year_so_far(sales):
    admin = get_user_model().objects.get(username="admin")
    today = timezone.localdate()
    cal = fiscal_calendar()
    period = cal.year(today.year + 1)  # next year, asked while this year is still running
    rec = stored.recommend(admin, resolve_scope(admin), period, 0.5, bottom_up=False, today=today)
    complete = cal.year(today.year - 1)
    so_far = _sum(cal.year(today.year).start, today)
    assert rec.last_year_actual == _sum(complete.start, complete.end) != so_far
    assert rec.rule_of_thumb == round(rec.last_year_actual * 1.1)
    assert rec.growth_vs_last_year == pytest.approx(rec.recommended / rec.last_year_actual - 1)
    data = rec.to_dict()
    assert data["last_year_period"]["start"] == complete.start.isoformat()
    assert data["last_year_period"]["end"] == complete.end.isoformat()
    assert str(today.year - 1) in rec.rule_of_thumb_label and str(today.year - 1) in rec.vs_last_year_label


def test_a_period_whose_previous_year_is_over_compares_with_it(sales):
    admin = get_user_model().objects.get(username="admin")
    today = timezone.localdate()
    cal = fiscal_calendar()
    period = cal.period_of("month", add_months(today.replace(day=1), 1))
    rec = stored.recommend(admin, resolve_scope(admin), period, 0.5, bottom_up=False, today=today)
    before = period.shift(-12)
    assert rec.last_year_period.start == before.start
    assert rec.last_year_actual == _sum(before.start, before.end)


def test_new_hires_without_history_appear_in_the_bottom_up_table(sales):
    admin = get_user_model().objects.get(username="admin")
    today = timezone.localdate()
    joined = add_months(today.replace(day=1), -2)
    newbie = PersonFactory(name="新人甲", hire_date=joined)
    MembershipFactory(person=newbie, unit=sales.sh, valid_from=joined)
    # A second new hire with one month of sales.
    seller = PersonFactory(name="新人乙", hire_date=joined)
    MembershipFactory(person=seller, unit=sales.sh, valid_from=joined)
    DailyRollup.objects.create(
        day=add_months(today.replace(day=1), -1).replace(day=10),
        kind="order",
        person_id=seller.pk,
        unit_id=sales.sh.pk,
        amount=50_000,
    )
    period = fiscal_calendar().year(today.year + 1)
    rec = stored.recommend(admin, resolve_scope(admin, unit_id=sales.sh.pk), period, 0.8, today=today)
    rows = {r["person_id"]: r for r in rec.bottom_up.reps}
    assert set(rows) == {sales.rep_sh1.pk, sales.rep_sh2.pk, newbie.pk, seller.pk}
    veterans = (rows[sales.rep_sh1.pk]["expected"] + rows[sales.rep_sh2.pk]["expected"]) / 2
    for person in (newbie, seller):
        row = rows[person.pk]
        assert row["model"] == NEW_REP_MODEL
        assert row["note"]
        # Fully ramped within the year: about the team's per-rep level, never nothing.
        assert 0.7 * veterans < row["expected"] <= veterans + 1
        assert row["recommended"] > 0
    assert rec.bottom_up.expected_total == sum(r["expected"] for r in rows.values())
    assert not rows[sales.rep_sh1.pk]["note"]
