"""A read up to the last day with rows takes that month from the month grain (its rows hold the
days so far, in fewer rows); a row after the day sends it back to the day grain. Either way the
figures are the facts' sums, for people, units and the company."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salestarget.actuals.credit import credited_totals
from salestarget.actuals.models import Fact
from salestarget.metrics.models import Metric
from salestarget.org.models import Person
from tests.actuals.test_credit import march, record  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def facts_sum(end: dt.date, start: dt.date = dt.date(2024, 3, 1), **where) -> int:
    return sum(f.amount for f in Fact.objects.filter(kind="order", date__gte=start, date__lte=end, **where))


def read(c, start: dt.date, end: dt.date) -> tuple[dict, list[str]]:
    metric = Metric.objects.get(code="sales")
    people = list(Person.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        found = credited_totals(
            c.admin, metric, start, end, people=people, units=[c.sh, c.east], company=True
        )
    return found, [q["sql"] for q in queries.captured_queries]


def sums(queries: list[str]) -> list[str]:
    return [sql for sql in queries if "SUM(" in sql]


def test_up_to_the_last_day_the_month_grain_answers(march):  # noqa: F811
    c = march
    record(c, "order", [{"external_id": "6", "date": "2024-03-22", "amount": "7", "person": c.rep_sh1.code}])
    end = dt.date(2024, 3, 22)  # nothing after it in March (the April order is another month)
    found, queries = read(c, dt.date(2024, 3, 1), end)
    assert all("dailyrollup" not in sql for sql in sums(queries)), sums(queries)
    assert any("monthrollup" in sql for sql in sums(queries))
    assert found[f"p{c.rep_sh1.pk}"] == facts_sum(end, person=c.rep_sh1) == 10000 + 700
    assert found[f"u{c.sh.pk}"] == facts_sum(end, unit__path__startswith=c.sh.path)
    assert found["company"] == facts_sum(end)
    # Year to date: the earlier months and this one, all from the month grain.
    found, queries = read(c, dt.date(2024, 1, 1), end)
    assert all("dailyrollup" not in sql for sql in sums(queries))
    assert found["company"] == facts_sum(end, start=dt.date(2024, 1, 1))


def test_a_row_after_the_day_keeps_the_day_grain(march):  # noqa: F811
    c = march
    end = dt.date(2024, 3, 15)  # the order of 20 March lies after it
    found, queries = read(c, dt.date(2024, 3, 1), end)
    assert any("dailyrollup" in sql for sql in sums(queries))
    for person in (c.rep_sh1, c.rep_sh2, c.rep_sz):
        assert found[f"p{person.pk}"] == facts_sum(end, person=person)
    assert found[f"p{c.rep_sz.pk}"] == 101  # the order of 5 March it owns; not the 30.00 of 20 March
    assert found["company"] == facts_sum(end) == 10000 + 5000 + 101


@pytest.mark.parametrize("end", [dt.date(2024, 3, 15), dt.date(2024, 3, 31)])  # day grain, month grain
def test_people_among_a_subquery_read_as_their_ids(march, end):  # noqa: F811
    """A rank filters 5,000 reps by their memberships' subquery instead of binding their ids:
    the same sums, with no figure for anyone outside the people asked about."""
    c = march
    metric = Metric.objects.get(code="sales")
    asked = [c.rep_sh1.pk, c.rep_sz.pk]
    everyone = Person.objects.values("pk")  # holds rep_sh2 too
    start = dt.date(2024, 3, 1)
    by_id = credited_totals(c.admin, metric, start, end, people=asked)
    among = credited_totals(c.admin, metric, start, end, people=asked, among=everyone)
    assert among == by_id == {f"p{p}": facts_sum(end, person_id=p) for p in asked}
    monthly = credited_totals(c.admin, metric, start, end, people=asked, among=everyone, by_month=True)
    assert {key for key, _month in monthly} <= {f"p{p}" for p in asked}
