"""Facts are scoped by the unit at their date, so history stays where it happened."""

import datetime as dt

import pytest

from salestarget.actuals.models import Fact
from salestarget.org.models import Membership

pytestmark = pytest.mark.django_db


def test_a_moved_reps_facts_stay_with_the_old_team(company):
    row = company.rep_sh1.memberships.get()
    row.valid_to = dt.date(2025, 6, 30)
    row.save()
    Membership.objects.create(person=company.rep_sh1, unit=company.sz, valid_from=dt.date(2025, 7, 1))
    before = Fact.objects.create(
        kind="order",
        date=dt.date(2025, 6, 1),
        amount=100,
        person=company.rep_sh1,
        unit=company.sh,
        source="t",
        external_id="1",
    )
    after = Fact.objects.create(
        kind="order",
        date=dt.date(2025, 8, 1),
        amount=200,
        person=company.rep_sh1,
        unit=company.sz,
        source="t",
        external_id="2",
    )
    assert set(Fact.objects.restrict(company.lead_sh.user)) == {before}
    assert set(Fact.objects.restrict(company.lead_sz.user)) == {after}
    assert set(Fact.objects.restrict(company.rep_sh1.user)) == {before, after}
    assert set(Fact.objects.restrict(company.rep_sz.user)) == set()
