"""Issue 11, one of each: where the same rule used to be written twice, the two copies had
drifted apart. Each test here holds a case on which they disagreed, so the one rule left must
give the same answer whichever path asks."""

from __future__ import annotations

import datetime as dt

import pytest
import xlsxwriter

from salestarget.actuals.credit import credited_by_person
from salestarget.actuals.importers import localised
from salestarget.actuals.models import Fact
from salestarget.actuals.parsing import Problem, parse_whole
from salestarget.actuals.services import do_import_fact_rows, do_import_facts
from salestarget.metrics.models import Metric
from salestarget.org.models import Membership
from tests.factories import MembershipFactory, PersonFactory

pytestmark = pytest.mark.django_db

JUST_OVER = 1_000_000_000_000_001  # one over the bound; 15 significant digits would read 10^15


def test_a_whole_workbook_number_is_read_exactly():
    with pytest.raises(Problem, match="out of range"):
        parse_whole(float(JUST_OVER), "Quantity")
    assert parse_whole(float(10**15)) == 10**15


def test_a_quantity_over_the_bound_is_an_error_on_both_paths(tmp_path, company):
    """The loop read a workbook's whole number exactly and refused it; the error report read it
    at 15 digits, as 10^15, and let it pass: a row whose date failed hid its quantity problem."""
    path = tmp_path / "orders.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["订单号", "日期", "销售员", "数量", "金额"])
    sheet.write_row(1, 0, ["SO1", "2024-03-01", company.rep_sh1.code, float(JUST_OVER), 100])
    sheet.write_row(2, 0, ["SO2", "2024-02-30", company.rep_sh1.code, float(JUST_OVER), 100])
    book.close()
    result = do_import_facts(None, path, "order")
    found = [(e["row"], localised(e)["column"], localised(e)["reason"]) for e in result.errors]
    assert [(row, column) for row, column, _reason in found] == [(2, "数量"), (3, "日期"), (3, "数量")], found
    assert "out of range" in found[0][2] and found[0][2] == found[2][2]


def test_the_unit_on_a_page_is_the_unit_a_fact_is_booked_to(company):
    """A manager leading two units from the same day: Person.unit_on took whichever row the
    database returned first, the import the lower unit id. A player-coach counts for the team
    they play in, on both paths."""
    c = company
    boss = PersonFactory(name="双队长")
    start = dt.date(2024, 1, 1)
    for unit in (c.sz, c.sh):  # the higher id first
        MembershipFactory(person=boss, unit=unit, role=Membership.Role.MANAGER, valid_from=start)
    MembershipFactory(person=c.lead_sh, unit=c.hz, valid_from=start)
    rows = [
        {"external_id": "B1", "date": "2024-03-01", "amount": "10", "person": boss.code},
        {"external_id": "B2", "date": "2024-03-01", "amount": "10", "person": c.lead_sh.code},
    ]
    result = do_import_fact_rows(c.admin, "order", rows, source="crm")
    assert result.ok, result.errors
    booked = dict(Fact.objects.values_list("external_id", "unit"))
    day = dt.date(2024, 3, 1)
    assert (boss.unit_on(day).pk, c.lead_sh.unit_on(day).pk) == (booked["B1"], booked["B2"])
    assert (booked["B1"], booked["B2"]) == (c.sh.pk, c.hz.pk)


def test_a_refund_of_a_split_sale_cancels_it_person_by_person(company):
    """Splitting a negative amount floored towards minus infinity: a refund of 0.01 split 50/50
    took the fen from the other person than the sale had given it to."""
    c = company
    shares = [{"person": c.rep_sz.code, "share": 50}, {"person": c.rep_sh1.code, "share": 50}]
    rows = [
        {"external_id": "S1", "date": "2024-03-05", "amount": "0.01", "credits": shares},
        {"external_id": "S2", "date": "2024-03-06", "amount": "-0.01", "credits": shares},
    ]
    result = do_import_fact_rows(c.admin, "order", rows, source="crm")
    assert result.ok, result.errors
    metric = Metric.objects.get(code="sales")
    metric.credit_rule = Metric.Credit.SPLIT
    got = credited_by_person(metric, dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert got == {c.rep_sz.pk: 0, c.rep_sh1.pk: 0}
