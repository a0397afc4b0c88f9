"""A plan's cells, export and import over the API (issue 13): the cells each caller may see,
the file as the plan page exports it (planners only), and an import that round-trips an export,
writes nothing on a dry run or on any bad row, and answers the rows' errors."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import TargetCell
from salestarget.targets.services import do_create_plan
from tests.test_api_contract import assert_documented, openapi

YEAR = dt.date(2027, 1, 1)


def new_plan(company, name=""):
    return do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(2027), name=name
    )


def primary(plan):
    return plan.scenarios.get(is_primary=True)


def snapshot(plan) -> set[tuple]:
    return set(
        TargetCell.objects.filter(scenario=primary(plan)).values_list(
            "unit_id", "person_id", "product_id", "period_kind", "period_start", "floor", "target", "stretch"
        )
    )


@pytest.fixture
def plan(company):
    """A draft 2027 plan: the company, two teams, their reps, a year and its months each."""
    the_plan = new_plan(company, name="2027")
    scenario = primary(the_plan)
    cells = {}
    owners = {
        "hq": {"unit": company.hq},
        "sh": {"unit": company.sh},
        "sz": {"unit": company.sz},
        "rep_sh1": {"person": company.rep_sh1},
        "rep_sh2": {"person": company.rep_sh2},
        "rep_sz": {"person": company.rep_sz},
    }
    for n, (name, owner) in enumerate(owners.items()):
        cells[name] = TargetCell.objects.create(
            scenario=scenario, period_kind="year", period_start=YEAR, target=1_200_000 * (n + 1), **owner
        )
        for month in range(1, 13):
            TargetCell.objects.create(
                scenario=scenario,
                period_kind="month",
                period_start=dt.date(2027, month, 1),
                target=100_000 * (n + 1),
                **owner,
            )
    the_plan.cells = cells
    return the_plan


CELLS = "/api/v1/targets/plans/{plan_id}/cells"
IMPORT = "/api/v1/targets/plans/{plan_id}/import"


def visible(client, plan, **query) -> list[dict]:
    response = client.get(CELLS.format(plan_id=plan.pk), query)
    assert response.status_code == 200, response.content[:300]
    return assert_documented(response, "GET", CELLS)["items"]


# --- cells ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rep_sees_only_their_own_cells(client, company, plan):
    client.force_login(company.rep_sh1.user)
    rows = visible(client, plan)
    assert rows and {r["person_id"] for r in rows} == {company.rep_sh1.pk}
    assert {r["unit_id"] for r in rows} == {None}
    year = next(r for r in rows if r["period_kind"] == "year")
    cell = plan.cells["rep_sh1"]
    assert year == {
        "id": cell.pk,
        "unit_id": None,
        "person_id": company.rep_sh1.pk,
        "period_kind": "year",
        "period_start": "2027-01-01",
        "period_end": "2027-12-31",
        "product_id": None,
        "region_id": None,
        "segment_id": None,
        "floor": None,
        "target": cell.target,
        "stretch": None,
        "locked": False,
        "source": cell.source,
        "version": 1,
    }


@pytest.mark.django_db
def test_a_team_lead_sees_their_subtree(client, company, plan):
    client.force_login(company.lead_sh.user)
    rows = visible(client, plan)
    owners = {(r["unit_id"], r["person_id"]) for r in rows}
    assert owners == {(company.sh.pk, None), (None, company.rep_sh1.pk), (None, company.rep_sh2.pk)}
    assert not {company.sz.pk, company.hq.pk} & {r["unit_id"] for r in rows}
    assert company.rep_sz.pk not in {r["person_id"] for r in rows}


@pytest.mark.django_db
def test_the_filters_and_the_pages(client, company, plan):
    client.force_login(company.admin)
    assert len(visible(client, plan)) == 78
    years = visible(client, plan, period_kind="year")
    assert len(years) == 6 and {r["period_kind"] for r in years} == {"year"}
    mine = visible(client, plan, person_id=company.rep_sz.pk)
    assert {r["person_id"] for r in mine} == {company.rep_sz.pk} and len(mine) == 13
    assert {r["unit_id"] for r in visible(client, plan, unit_id=company.sh.pk)} == {company.sh.pk}
    assert visible(client, plan, product_id=company.product.pk) == []
    page = client.get(f"/api/v1/targets/plans/{plan.pk}/cells", {"limit": 5, "offset": 75}).json()
    assert page["count"] == 78 and len(page["items"]) == 3
    assert client.get(f"/api/v1/targets/plans/{plan.pk}/cells", {"limit": 1001}).status_code == 422
    assert client.get(f"/api/v1/targets/plans/{plan.pk}/cells", {"period_kind": "day"}).status_code == 422


@pytest.mark.django_db
def test_another_plans_scenario_is_not_found(client, company, plan):
    other = new_plan(company, name="other")
    client.force_login(company.admin)
    response = client.get(f"/api/v1/targets/plans/{plan.pk}/cells", {"scenario_id": primary(other).pk})
    assert response.status_code == 404 and response.json()["detail"]
    assert visible(client, plan, scenario_id=primary(plan).pk)


# --- export ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_export_as_planner(client, company, plan):
    from python_calamine import CalamineWorkbook

    client.force_login(company.admin)
    response = client.get(f"/api/v1/targets/plans/{plan.pk}/export")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f'filename="plan-{plan.pk}.xlsx"' in response["Content-Disposition"]
    assert "/api/v1/targets/plans/{plan_id}/export" in openapi()["paths"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names

    response = client.get(f"/api/v1/targets/plans/{plan.pk}/export", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="plan-{plan.pk}.csv"' in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    assert company.rep_sz.code in text and company.sh.code in text


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["rep_sh1", "lead_sh"])
def test_export_is_for_planners(client, company, plan, who):
    client.force_login(getattr(company, who).user)
    response = client.get(f"/api/v1/targets/plans/{plan.pk}/export")
    assert response.status_code == 403
    assert response.json()["detail"]


# --- import ---------------------------------------------------------------------------------


def upload(client, plan, content: bytes, name: str, **fields):
    data = {
        "file": _named(content, name),
        **{k: str(v).lower() if isinstance(v, bool) else v for k, v in fields.items()},
    }
    return client.post(f"/api/v1/targets/plans/{plan.pk}/import", data)


def _named(content: bytes, name: str):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_imports_back(client, company, plan, fmt):
    client.force_login(company.admin)
    content = client.get(f"/api/v1/targets/plans/{plan.pk}/export", {"format": fmt}).content
    fresh = new_plan(company, name=f"copy {fmt}")

    response = upload(client, fresh, content, f"plan.{fmt}", dry_run=True)
    assert response.status_code == 200, response.content[:500]
    body = assert_documented(response, "POST", IMPORT)
    assert body["status"] == "dry_run" and body["cells_written"] == 78 and body["errors"] == []
    assert snapshot(fresh) == set()

    response = upload(client, fresh, content, f"plan.{fmt}", unit="yuan")
    assert response.status_code == 200, response.content[:500]
    body = assert_documented(response, "POST", IMPORT)
    assert body["status"] == "applied" and body["cells_written"] == 78 and body["error_count"] == 0
    assert body["plan"] == fresh.pk and body["file"] == f"plan.{fmt}"
    assert snapshot(fresh) == snapshot(plan)


@pytest.mark.django_db
def test_a_bad_file_answers_its_rows_and_writes_nothing(client, company, plan):
    client.force_login(company.admin)
    content = client.get(f"/api/v1/targets/plans/{plan.pk}/export", {"format": "csv"}).content
    text = content.decode("utf-8-sig")
    bad = text.replace(company.rep_sz.code, "NOBODY-42", 1)
    assert bad != text
    fresh = new_plan(company, name="bad")
    response = upload(client, fresh, bad.encode("utf-8-sig"), "plan.csv")
    assert response.status_code == 400
    body = assert_documented(response, "POST", IMPORT)
    assert body["detail"] and body["status"] == "rejected" and body["error_count"] >= 1
    error = body["errors"][0]
    assert isinstance(error["row"], int) and error["row"] >= 1
    assert error["value"] == "NOBODY-42" and error["type"] == "row" and error["message"]
    assert error["loc"][:3] == ["body", "file", error["row"]]
    assert snapshot(fresh) == set()


@pytest.mark.django_db
def test_an_unreadable_file_or_mapping_is_a_400(client, company, plan):
    client.force_login(company.admin)
    fresh = new_plan(company, name="empty")
    response = upload(client, fresh, b"", "plan.csv")
    assert response.status_code == 400 and assert_documented(response, "POST", IMPORT)["detail"]
    response = upload(client, fresh, b"a,b\n1,2\n", "plan.csv", mapping="[1, 2]")
    assert response.status_code == 400 and response.json()["errors"][0]["loc"] == ["body", "mapping"]
    response = upload(client, fresh, b"a,b\n1,2\n", "plan.csv", encoding="hex")
    assert response.status_code == 400 and response.json()["errors"][0]["loc"] == ["body", "file"]
    response = upload(client, fresh, b"a,b\n1,2\n", "../plan\x00.c sv", encoding="no-such-codec")
    assert response.status_code == 400
    response = upload(client, fresh, b"a,b\n1,2\n", "plan.csv", unit="lakh")
    assert response.status_code == 422
    assert snapshot(fresh) == set()


@pytest.mark.django_db
def test_import_is_for_planners(client, company, plan):
    client.force_login(company.admin)
    content = client.get(f"/api/v1/targets/plans/{plan.pk}/export", {"format": "csv"}).content
    fresh = new_plan(company, name="rep")
    client.force_login(company.lead_sh.user)
    response = upload(client, fresh, content, "plan.csv")
    assert response.status_code == 403 and assert_documented(response, "POST", IMPORT)["detail"]
    assert snapshot(fresh) == set()
