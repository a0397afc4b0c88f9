"""Issue 12, item 13: master imports take an effective-from date, and a fact import that writes
rows no team or territory will count says so (with counts) instead of succeeding silently."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from salestarget.actuals.importers import warning_texts
from salestarget.actuals.models import Fact, ImportBatch
from salestarget.actuals.services import do_import_fact_rows, do_import_facts, do_import_master
from salestarget.jobs.worker import drain
from salestarget.metrics.models import Metric
from salestarget.org.models import Membership, Person, TerritoryAssignment
from tests.actuals.conftest import write_csv

pytestmark = pytest.mark.django_db

PEOPLE = [["工号", "姓名", "部门"], ["N1", "新一", "SH"], ["N2", "新二", "SZ"]]
TERRITORIES = [["销售员", "区域"], ["N1", "SHA"], ["N2", "GD"]]
ORDERS = [
    ["单号", "日期", "销售员", "区域", "金额"],
    ["O1", "2024-03-01", "N1", "SHA", "100"],
    ["O2", "2024-03-02", "N1", "SHA", "100"],
    ["O3", "2024-05-01", "N2", "GD", "100"],
]


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def by_territory(company):
    Metric.objects.filter(code="sales").update(credit_rule=Metric.Credit.TERRITORY)


@pytest.fixture
def files(tmp_path):
    return (
        write_csv(tmp_path / "people.csv", PEOPLE),
        write_csv(tmp_path / "territories.csv", TERRITORIES),
        write_csv(tmp_path / "orders.csv", ORDERS),
    )


def test_people_without_dates_then_orders_import_with_a_counted_warning(company, by_territory, files):
    people, territories, orders = files
    assert do_import_master(None, people, "people").ok
    assert do_import_master(None, territories, "territories").ok
    today = timezone.localdate()
    assert Person.objects.get(code="N1").hire_date == today
    assert TerritoryAssignment.objects.get(person__code="N1").valid_from == today

    result = do_import_facts(None, orders, "order")

    assert result.status == "applied" and result.rows_written == 3
    texts = warning_texts(result.warnings)
    assert len(texts) == 2
    assert texts[0].startswith("3 rows are dated before their salesperson joined a team (2 people;")
    assert "2024-03-01" in texts[0] and "effective-from" in texts[0]
    assert texts[1].startswith("3 rows fall on days when nobody was assigned to their region (2 regions;")
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert batch.warnings == result.warnings
    assert not Fact.objects.filter(unit__isnull=False).exists()
    assert result.as_dict()["warnings"] == texts


def test_the_same_with_an_effective_date_imports_without_warning(company, by_territory, files):
    people, territories, orders = files
    run("import", "people", str(people), "--effective-from", "2017-01-01")
    run("import", "territories", str(territories), "--effective-from", "2017-01-01")
    n1 = Person.objects.get(code="N1")
    assert n1.hire_date == dt.date(2017, 1, 1)
    assert Membership.objects.get(person=n1).valid_from == dt.date(2017, 1, 1)
    assert TerritoryAssignment.objects.get(person=n1).valid_from == dt.date(2017, 1, 1)

    out = run("import", "order", str(orders))

    assert "warning" not in out
    batch = ImportBatch.objects.get(kind="order")
    assert batch.status == "applied" and batch.warnings == []
    assert dict(Fact.objects.values_list("external_id", "unit__code")) == {
        "O1": "SH",
        "O2": "SH",
        "O3": "SZ",
    }


def test_importing_people_again_with_an_effective_date_mends_their_history(company, by_territory, files):
    people, territories, orders = files
    do_import_master(None, people, "people")
    do_import_master(None, territories, "territories")
    first = do_import_facts(None, orders, "order")
    assert len(first.warnings) == 2

    assert do_import_master(None, people, "people", effective_from="2017-01-01").ok
    assert do_import_master(None, territories, "territories", effective_from=dt.date(2017, 1, 1)).ok

    n1 = Person.objects.get(code="N1")
    assert n1.hire_date == dt.date(2017, 1, 1)
    assert list(Membership.objects.filter(person=n1).values_list("valid_from", "valid_to")) == [
        (dt.date(2017, 1, 1), None)
    ]
    assert list(TerritoryAssignment.objects.filter(person=n1).values_list("valid_from", flat=True)) == [
        dt.date(2017, 1, 1)
    ]
    # The facts already imported are re-booked to the team; a new file warns no more.
    assert set(Fact.objects.values_list("unit__code", flat=True)) == {"SH", "SZ"}
    more = write_csv(orders.parent / "more.csv", [ORDERS[0], ["O4", "2024-06-01", "N2", "GD", "5"]])
    assert do_import_facts(None, more, "order").warnings == []


def test_the_territory_warning_is_only_for_a_sales_metric_credited_by_territory(company, files):
    people, territories, orders = files
    do_import_master(None, people, "people")
    do_import_master(None, territories, "territories")
    result = do_import_facts(None, orders, "order")
    texts = warning_texts(result.warnings)
    assert len(texts) == 1 and "joined a team" in texts[0]


def test_a_region_covered_from_above_is_no_warning(company, by_territory):
    """Territory credit reaches a region from any region above it (credit.py)."""
    TerritoryAssignment.objects.create(
        person=company.rep_sh1, region=company.china, valid_from=dt.date(2020, 1, 1)
    )
    rows = [
        {
            "external_id": "A1",
            "date": "2024-03-01",
            "amount": "1",
            "person": company.rep_sh1.code,
            "region": "SHA",
        },
        {
            "external_id": "A2",
            "date": "2019-03-01",
            "amount": "1",
            "person": company.rep_sh1.code,
            "region": "GD",
        },
    ]
    result = do_import_fact_rows(None, "order", rows, source="api")
    texts = warning_texts(result.warnings)
    # rep_sh1 joined on 2022-01-01 (the company fixture): A2 has no team and nobody covered GD.
    assert texts[0].startswith("1 rows are dated before") and "2019-03-01" in texts[0]
    assert texts[1].startswith("1 rows fall on days when nobody") and "(1 regions;" in texts[1]


def test_a_dry_run_warns_too_and_a_rejected_file_does_not(company, files):
    people, _territories, orders = files
    do_import_master(None, people, "people")
    dry = do_import_facts(None, orders, "order", dry_run=True)
    assert dry.status == "dry_run" and len(dry.warnings) == 1 and not Fact.objects.exists()
    bad = write_csv(orders.parent / "bad.csv", [*ORDERS, ["O9", "2024-03-01", "N1", "SHA", "=1+1"]])
    rejected = do_import_facts(None, bad, "order")
    assert rejected.status == "rejected" and rejected.warnings == []
    assert ImportBatch.objects.get(pk=rejected.batch_id).warnings == []


def test_the_command_prints_the_warnings(company, files):
    people, _territories, orders = files
    run("import", "people", str(people))
    out = run("import", "order", str(orders))
    assert "warning: 3 rows are dated before their salesperson joined a team" in out
    summary = json.loads(run("import", "order", str(orders), "--source", "other", "--json"))
    assert len(summary["warnings"]) == 1


def test_the_command_refuses_a_bad_or_misplaced_effective_date(company, files):
    people, _territories, orders = files
    with pytest.raises(CommandError, match="not a date such as 2017-01-01"):
        run("import", "people", str(people), "--effective-from", "2017-13-01")
    with pytest.raises(CommandError, match="for master data"):
        run("import", "order", str(orders), "--effective-from", "2017-01-01")
    assert not Person.objects.filter(code="N1").exists()


def test_a_hire_date_without_valid_from_starts_the_membership_at_the_hire_date(company, tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        [["工号", "姓名", "部门", "入职日期"], ["H1", "入职一", "HZ", "2019-04-01"]],
    )
    assert do_import_master(None, path, "people", effective_from="2017-01-01").ok
    h1 = Person.objects.get(code="H1")
    assert h1.hire_date == dt.date(2019, 4, 1)
    assert Membership.objects.get(person=h1).valid_from == dt.date(2019, 4, 1)
    # Someone imported first without a date, then with their hire date, is placed from it.
    late = write_csv(tmp_path / "l.csv", [["工号", "姓名", "部门"], ["H2", "入职二", "HZ"]])
    do_import_master(None, late, "people")
    dated = write_csv(tmp_path / "d.csv", [["工号", "入职日期"], ["H2", "2018-02-01"]])
    unit_only = write_csv(tmp_path / "u.csv", [["工号", "部门", "入职日期"], ["H2", "HZ", "2018-02-01"]])
    assert do_import_master(None, dated, "people").ok
    assert do_import_master(None, unit_only, "people").ok
    h2 = Person.objects.get(code="H2")
    assert h2.hire_date == dt.date(2018, 2, 1)
    assert Membership.objects.get(person=h2).valid_from == dt.date(2018, 2, 1)


def test_a_move_takes_the_effective_date_and_keeps_the_earlier_team(company, tmp_path):
    move = write_csv(tmp_path / "m.csv", [["code", "unit"], [company.rep_hz.code, "SZ"]])
    assert do_import_master(None, move, "people", effective_from="2024-07-01").ok
    rep = company.rep_hz
    assert rep.unit_on(dt.date(2024, 6, 30)) == company.hz and rep.unit_on(dt.date(2024, 7, 1)) == company.sz
    batch = ImportBatch.objects.get(kind="people")
    assert batch.options["effective_from"] == "2024-07-01"


def test_the_web_import_carries_the_effective_date_and_shows_the_warnings(client, company, tmp_path):
    client.force_login(company.admin)
    people = write_csv(tmp_path / "people.csv", PEOPLE)
    with people.open("rb") as f:
        response = client.post(reverse("actuals:import"), {"kind": "people", "file": f, "source": "file"})
    url = response["Location"]
    page = client.get(url)
    assert "effective_from" in page.context["form"].fields
    form = {"map_code": "工号", "map_name": "姓名", "map_unit": "部门", "effective_from": "2017-01-01"}
    client.post(url, {**form, "action": "confirm"})
    drain()
    assert Person.objects.get(code="N1").hire_date == dt.date(2017, 1, 1)
    people_batch = ImportBatch.objects.get(kind="people")
    page = client.get(reverse("actuals:batch", kwargs={"pk": people_batch.pk}))
    assert people_batch.options["effective_from"] == "2017-01-01" and "2017-01-01" in page.content.decode()

    # An order file for someone placed only from today: the batch page says why it counts nowhere.
    do_import_master(None, write_csv(tmp_path / "p2.csv", [["工号", "部门"], ["N3", "SH"]]), "people")
    orders = write_csv(tmp_path / "o.csv", [ORDERS[0], ["X1", "2024-03-01", "N3", "", "10"]])
    with orders.open("rb") as f:
        response = client.post(reverse("actuals:import"), {"kind": "order", "file": f, "source": "file"})
    url = response["Location"]
    form = {"map_external_id": "单号", "map_date": "日期", "map_person": "销售员", "map_amount": "金额"}
    client.post(url, {**form, "unit": "yuan", "action": "preview"})
    drain()
    preview = client.get(url)
    assert preview.context["result"]["ok"] and len(preview.context["warnings"]) == 1
    assert b"import-warnings" in preview.content
    client.post(url, {**form, "unit": "yuan", "action": "confirm"})
    drain()
    batch = ImportBatch.objects.get(kind="order")
    page = client.get(reverse("actuals:batch", kwargs={"pk": batch.pk}))
    assert page.status_code == 200 and "1 行的日期早于该销售人员加入团队的日期" in page.content.decode()


def test_the_bulk_api_answers_with_the_warnings(client, company):
    from salestarget.accounts.models import ApiToken

    _token, raw = ApiToken.issue(company.admin, "test")
    body = {
        "kind": "order",
        "rows": [{"external_id": "B1", "date": "2019-01-01", "amount": "1", "person": company.rep_sz.code}],
    }
    response = client.post(
        "/api/v1/actuals/facts/bulk",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200
    (warning,) = response.json()["warnings"]
    assert warning.startswith("1 行的日期早于该销售人员加入团队的日期（涉及 1 人")
