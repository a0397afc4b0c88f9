"""Credit rules: owner, territory (at the row's date, ancestors included, once per row) and
split (basis points, largest remainder)."""

from __future__ import annotations

import datetime as dt

import pytest

from salestarget.actuals.credit import credited_by_person
from salestarget.actuals.services import do_import_fact_rows
from salestarget.metrics.models import Metric
from salestarget.org.models import TerritoryAssignment

pytestmark = pytest.mark.django_db
MARCH = (dt.date(2024, 3, 1), dt.date(2024, 3, 31))


def record(company, kind, rows):
    result = do_import_fact_rows(company.admin, kind, rows, source=kind)
    assert result.ok, result.errors


def sales(rule: str) -> Metric:
    metric = Metric.objects.get(code="sales")
    metric.credit_rule = rule
    return metric


@pytest.fixture
def march(company):
    c = company
    record(
        c,
        "order",
        [
            {
                "external_id": "1",
                "date": "2024-03-01",
                "amount": "100",
                "person": c.rep_sh1.code,
                "region": "SHA",
            },
            {
                "external_id": "2",
                "date": "2024-03-10",
                "amount": "50",
                "person": c.rep_sh2.code,
                "region": "SHA",
            },
            {
                "external_id": "3",
                "date": "2024-03-20",
                "amount": "30",
                "person": c.rep_sz.code,
                "region": "GD",
            },
            {
                "external_id": "4",
                "date": "2024-04-01",
                "amount": "999",
                "person": c.rep_sz.code,
                "region": "GD",
            },
            {
                "external_id": "5",
                "date": "2024-03-05",
                "amount": "1.01",
                "region": "GD",
                "credits": [{"person": c.rep_sz.code, "share": 60}, {"person": c.rep_sh1.code, "share": 40}],
            },
        ],
    )
    return c


def test_owner_credit(march):
    c = march
    got = credited_by_person(sales(Metric.Credit.OWNER), *MARCH)
    assert got == {c.rep_sh1.pk: 10000, c.rep_sh2.pk: 5000, c.rep_sz.pk: 3000 + 101}
    assert credited_by_person(sales(Metric.Credit.OWNER), *MARCH, people=[c.rep_sh1.pk]) == {
        c.rep_sh1.pk: 10000
    }


def test_split_credit_divides_exactly(march):
    c = march
    got = credited_by_person(sales(Metric.Credit.SPLIT), *MARCH)
    assert got == {c.rep_sh1.pk: 10000 + 40, c.rep_sh2.pk: 5000, c.rep_sz.pk: 3000 + 61}
    assert sum(got.values()) == 18101


def test_territory_credit_follows_assignments_at_the_date(march):
    c = march
    TerritoryAssignment.objects.create(person=c.rep_sh1, region=c.shanghai, valid_from=dt.date(2024, 3, 5))
    TerritoryAssignment.objects.create(person=c.lead_sh, region=c.china, valid_from=dt.date(2024, 1, 1))
    TerritoryAssignment.objects.create(person=c.lead_sh, region=c.shanghai, valid_from=dt.date(2024, 1, 1))
    TerritoryAssignment.objects.create(
        person=c.rep_sz, region=c.guangdong, valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2024, 3, 15)
    )
    got = credited_by_person(sales(Metric.Credit.TERRITORY), *MARCH)
    # lead_sh holds 中国 and 上海 (counted once per row); rep_sh1 only from 5 March; rep_sz until 15 March.
    assert got == {c.lead_sh.pk: 10000 + 5000 + 3000 + 101, c.rep_sh1.pk: 5000, c.rep_sz.pk: 101}


def test_counts_ratios_and_new_customers(march):
    c = march
    record(
        c,
        "visit",
        [
            {"external_id": f"v{n}", "date": "2024-03-02", "person": c.rep_sh1.code, "customer_name": ""}
            for n in range(3)
        ],
    )
    assert credited_by_person(Metric.objects.get(code="visits"), *MARCH) == {c.rep_sh1.pk: 3}
    average = credited_by_person(Metric.objects.get(code="avg_order_value"), *MARCH)
    assert average[c.rep_sz.pk] == 1551  # 31.01 yuan over two orders, half-up
    from tests.factories import CustomerFactory

    CustomerFactory(owner=c.rep_sh2, first_deal_date=dt.date(2024, 3, 3))
    CustomerFactory(owner=c.rep_sh2, first_deal_date=dt.date(2023, 3, 3))
    assert credited_by_person(Metric.objects.get(code="new_customers"), *MARCH) == {c.rep_sh2.pk: 1}
