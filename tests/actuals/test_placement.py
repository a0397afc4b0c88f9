"""People files move people through the org services: a back-dated move or a leaver re-books
their facts and rollups in the import's transaction, and rolling the file back re-books them to
the restored memberships. Facts booked behind the app's back are found and fixed by
``rollups verify|rebuild``."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from salestarget.actuals import rollups, selectors
from salestarget.actuals.models import ImportBatch
from salestarget.actuals.services import do_import_master, do_rollback_batch
from salestarget.org.models import Membership, TerritoryAssignment
from tests.actuals.conftest import write_csv
from tests.actuals.test_masters import reasons, snapshot
from tests.org.test_services import booked, import_orders, unit_totals

pytestmark = pytest.mark.django_db

YEAR = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))


@pytest.fixture
def sales(company):
    c = company
    import_orders(
        ("MAR", "2024-03-01", c.rep_sh1, 100),
        ("JUN", "2024-06-01", c.rep_sh1, 200),
        ("SH2-MAR", "2024-03-01", c.rep_sh2, 400),
        ("SH2-JUN", "2024-06-01", c.rep_sh2, 800),
    )
    return c


def test_a_people_file_moving_someone_back_dated_rebooks_and_its_rollback_restores(sales, tmp_path):
    c = sales
    before = snapshot()
    lead_before = selectors.total(c.lead_sh.user, selectors.metric("sales"), *YEAR)
    assert unit_totals() == {"SH": 150000}
    path = write_csv(
        tmp_path / "people.csv",
        [
            ["code", "unit", "valid_from", "status", "leave_date"],
            [c.rep_sh1.code, "SZ", "2024-05-01", "", ""],
            [c.rep_sh2.code, "", "", "离职", "2024-04-30"],
        ],
    )
    result = do_import_master(c.admin, path, "people")
    assert result.status == "applied", reasons(result)
    assert booked() == {"MAR": "SH", "JUN": "SZ", "SH2-MAR": "SH", "SH2-JUN": None}
    assert rollups.verify() == []
    assert unit_totals() == {"SH": 50000, "SZ": 20000, None: 80000}
    assert selectors.total(c.lead_sh.user, selectors.metric("sales"), *YEAR) == lead_before - 20000 - 80000
    assert selectors.total(c.lead_sz.user, selectors.metric("sales"), *YEAR) == 20000

    do_rollback_batch(c.admin, ImportBatch.objects.get(pk=result.batch_id))
    assert snapshot() == before
    assert set(booked().values()) == {"SH"} and unit_totals() == {"SH": 150000}
    assert rollups.verify() == []
    assert selectors.total(c.lead_sh.user, selectors.metric("sales"), *YEAR) == lead_before


def test_a_same_day_correction_in_a_people_file_is_rolled_back_too(sales, tmp_path):
    c = sales
    first = write_csv(
        tmp_path / "a.csv", [["code", "unit", "valid_from"], [c.rep_sh1.code, "HZ", "2024-05-01"]]
    )
    assert do_import_master(c.admin, first, "people").ok
    rows = list(
        Membership.objects.filter(person=c.rep_sh1).values_list("unit__code", "valid_from", "valid_to")
    )
    fix = write_csv(
        tmp_path / "b.csv", [["code", "unit", "valid_from"], [c.rep_sh1.code, "SZ", "2024-05-01"]]
    )
    result = do_import_master(c.admin, fix, "people")
    assert result.ok and booked()["JUN"] == "SZ" and Membership.objects.filter(person=c.rep_sh1).count() == 2
    do_rollback_batch(c.admin, ImportBatch.objects.get(pk=result.batch_id))
    assert (
        list(Membership.objects.filter(person=c.rep_sh1).values_list("unit__code", "valid_from", "valid_to"))
        == rows
    )
    assert booked()["JUN"] == "HZ" and rollups.verify() == []


def test_a_territory_row_contradicting_a_later_assignment_rejects_the_file(company, tmp_path):
    c = company
    TerritoryAssignment.objects.create(person=c.rep_sh1, region=c.shanghai, valid_from=dt.date(2024, 6, 1))
    path = write_csv(
        tmp_path / "t.csv",
        [
            ["person", "region", "valid_from"],
            [c.rep_sh1.code, "GD", "2024-01-01"],
            [c.rep_sh1.code, "SHA", "2024-01-01"],
        ],
    )
    result = do_import_master(c.admin, path, "territories")
    assert result.status == "rejected" and "contradicts" in reasons(result)[0]
    assert result.errors[0]["row"] == 3
    assert TerritoryAssignment.objects.filter(person=c.rep_sh1).count() == 1


def run(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_facts_booked_behind_the_apps_back_are_found_and_rebooked(sales):
    c = sales
    # A move written straight to the table, as older versions and hand-made SQL fixes did.
    Membership.objects.filter(person=c.rep_sh1).update(valid_to=dt.date(2024, 4, 30))
    Membership.objects.create(person=c.rep_sh1, unit=c.hz, valid_from=dt.date(2024, 5, 1))
    problems = rollups.verify()
    assert len(problems) == 1 and "booked to unit" in problems[0]
    with pytest.raises(CommandError, match="differ"):
        run("rollups", "verify")
    out = run("rollups", "rebuild")
    assert "Re-booked 1 facts" in out and "they match the facts" in out
    assert booked()["JUN"] == "HZ" and unit_totals() == {"SH": 130000, "HZ": 20000}
    assert "match" in run("rollups", "verify")
