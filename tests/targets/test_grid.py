"""The target grid (issue 13): a node's children × months read in a few queries with figures
equal to an independent sum, edits saved all or none, optimistic locking (the second of two
editors gets a conflict and the first one's value stands), who may see and change which rows,
and plans in force read-only."""

from __future__ import annotations

import datetime as dt
import json
import random
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from salestarget.core.errors import DomainError
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import Membership
from salestarget.targets.grid import CellChange, Conflict, do_save_cells, grid
from salestarget.targets.models import Plan, TargetCell
from salestarget.targets.services import do_create_plan
from tests.factories import MembershipFactory, PersonFactory

pytestmark = pytest.mark.django_db

YEAR = dt.date(2027, 1, 1)
MONTHS = [dt.date(2027, m, 1) for m in range(1, 13)]


@pytest.fixture
def plan(company):
    return do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(2027)
    )


@pytest.fixture
def scenario(plan):
    return plan.scenarios.get(is_primary=True)


def cell(scenario, *, unit=None, person=None, kind="month", start=YEAR, target, **levels):
    return TargetCell.objects.create(
        scenario=scenario,
        unit=unit,
        person=person,
        period_kind=kind,
        period_start=start,
        target=target,
        **levels,
    )


def fill(scenario, owners, seed=1):
    """Random month and year cells for ``owners`` (dicts of unit= or person=); the values."""
    rng = random.Random(seed)
    values = {}
    for owner in owners:
        for start in MONTHS:
            v = rng.randrange(0, 10**9)
            cell(scenario, kind="month", start=start, target=v, floor=v // 2, **owner)
            values[(tuple(owner.items()), start)] = v
        cell(scenario, kind="year", start=YEAR, target=rng.randrange(0, 10**10), **owner)
    return values


def user(company, name):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=name)


def row(data, kind, pk):
    return next(r for r in data["rows"] if r["kind"] == kind and r["id"] == pk)


def test_the_grid_of_a_team_is_its_unit_and_its_people_by_month(company, scenario):
    fill(scenario, [{"unit": company.sh}, {"person": company.rep_sh1}, {"person": company.rep_sh2}])
    with translation.override("zh-hans"):
        data = grid(company.admin, scenario, company.sh)
    assert [(r["kind"], r["id"]) for r in data["rows"]] == [
        ("unit", company.sh.pk),
        ("person", company.rep_sh1.pk),
        ("person", company.rep_sh2.pk),
    ]
    assert [c["key"] for c in data["columns"]] == ["y"] + [f"m{i:02d}" for i in range(1, 13)]
    assert [c["start"] for c in data["columns"][1:]] == [m.isoformat() for m in MONTHS]
    assert data["columns"][0]["label"] == "2027年" and data["columns"][1]["label"] == "2027年1月"
    # The lead manages the team and sells nothing of their own: no row.
    assert company.lead_sh.pk not in {r["id"] for r in data["rows"] if r["kind"] == "person"}
    assert data["rows"][0]["parent"] and data["editable"]


def test_figures_equal_an_independent_sum(company, scenario):
    fill(
        scenario,
        [{"unit": company.east}, {"unit": company.sh}, {"unit": company.hz}, {"person": company.rep_hz}],
    )
    data = grid(company.admin, scenario, company.east)
    expected_children = {
        start: sum(
            TargetCell.objects.filter(scenario=scenario, period_kind="month", period_start=start)
            .exclude(unit=company.east)
            .filter(unit__in=[company.sh, company.hz])
            .values_list("target", flat=True)
        )
        for start in MONTHS
    }
    for i, start in enumerate(MONTHS, start=1):
        assert data["children_sum"]["target"][f"m{i:02d}"] == expected_children[start]
        parent = TargetCell.objects.get(
            scenario=scenario, unit=company.east, period_start=start, period_kind="month"
        )
        assert data["rows"][0]["cells"][f"m{i:02d}"]["target"] == parent.target
        assert data["mismatch"]["target"][f"m{i:02d}"] == (parent.target != expected_children[start])
    sh = row(data, "unit", company.sh.pk)
    assert sh["totals"]["target"] == sum(
        TargetCell.objects.filter(scenario=scenario, unit=company.sh, period_kind="month").values_list(
            "target", flat=True
        )
    )
    assert sh["drill"] and not sh["has_children"]
    # rep_hz is a member of 杭州组, not of 华东 itself: not a row of 华东's grid.
    assert [r["kind"] for r in data["rows"]] == ["unit", "unit", "unit"]


def test_children_that_add_up_are_no_mismatch(company, scenario):
    cell(scenario, unit=company.east, start=MONTHS[0], target=300)
    cell(scenario, unit=company.sh, start=MONTHS[0], target=100)
    cell(scenario, unit=company.hz, start=MONTHS[0], target=200)
    cell(scenario, unit=company.east, start=MONTHS[1], target=300)
    cell(scenario, unit=company.sh, start=MONTHS[1], target=100)
    data = grid(company.admin, scenario, company.east)
    assert data["mismatch"]["target"]["m01"] is False
    assert data["mismatch"]["target"]["m02"] is True
    assert data["mismatch"]["target"]["m03"] is False  # nothing on either side


def test_a_node_of_50_children_reads_in_a_fixed_number_of_queries(company, scenario):
    people = []
    for i in range(50):
        p = PersonFactory(code=f"G{i:03d}", name=f"销售{i}")
        MembershipFactory(person=p, unit=company.sz, valid_from=dt.date(2022, 1, 1))
        people.append({"person": p})
    fill(scenario, people[:5])
    grid(company.lead_sz.user, scenario, company.sz)  # the user's scope, computed once per request
    with CaptureQueriesContext(connection) as few:
        grid(company.lead_sz.user, scenario, company.sz)
    fill(scenario, people[5:], seed=2)
    with CaptureQueriesContext(connection) as many:
        data = grid(company.lead_sz.user, scenario, company.sz)
    assert len(data["rows"]) == 52  # the team, rep_sz and the 50
    assert len(many) == len(few) <= 15


def test_members_on_any_day_of_the_period_are_rows(company, scenario):
    left = PersonFactory(code="LEFT", name="离职者")
    MembershipFactory(
        person=left, unit=company.sh, valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2027, 3, 31)
    )
    gone = PersonFactory(code="GONE", name="早已离开")
    MembershipFactory(
        person=gone, unit=company.sh, valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2026, 6, 30)
    )
    ids = {r["id"] for r in grid(company.admin, scenario, company.sh)["rows"] if r["kind"] == "person"}
    assert left.pk in ids and gone.pk not in ids


def test_save_by_key_then_by_id_with_history(company, scenario):
    lead = company.lead_sh.user
    saved = do_save_cells(
        lead,
        scenario,
        [
            CellChange(
                person_id=company.rep_sh1.pk,
                period_kind="month",
                period_start=MONTHS[2],
                field="target",
                value=123_45,
            )
        ],
    )
    assert saved[0]["target"] == 123_45 and saved[0]["version"] == 1
    stored = TargetCell.objects.get(pk=saved[0]["id"])
    assert stored.unit_id is None and stored.source == TargetCell.Source.MANUAL
    again = do_save_cells(lead, scenario, [CellChange(id=stored.pk, version=1, field="floor", value=100_00)])
    stored.refresh_from_db()
    assert (
        (stored.floor, stored.target, stored.version)
        == (100_00, 123_45, 2)
        == (
            again[0]["floor"],
            again[0]["target"],
            again[0]["version"],
        )
    )
    history = list(
        stored.history.order_by("history_date").values_list("history_type", "target", "floor", "history_user")
    )
    assert history == [("+", 123_45, None, lead.pk), ("~", 123_45, 100_00, lead.pk)]
    data = grid(lead, scenario, company.sh)
    assert row(data, "person", company.rep_sh1.pk)["cells"]["m03"]["target"] == 123_45


def test_floor_and_stretch_follow_the_plans_factors(company, plan, scenario):
    from decimal import Decimal

    plan.floor_factor, plan.stretch_factor = Decimal("0.9"), Decimal("1.2")
    plan.save()
    saved = do_save_cells(
        company.admin,
        scenario,
        [
            CellChange(
                unit_id=company.sh.pk, period_kind="month", period_start=MONTHS[0], field="target", value=1000
            )
        ],
    )
    assert (saved[0]["floor"], saved[0]["target"], saved[0]["stretch"]) == (900, 1000, 1200)


def test_two_editors_of_one_cell_the_second_gets_a_conflict(company, scenario, client):
    c = cell(scenario, unit=company.sh, start=MONTHS[0], target=100)
    first = grid(company.lead_sh.user, scenario, company.sh)["rows"][0]["cells"]["m01"]
    second = grid(company.director_east.user, scenario, company.sh)["rows"][0]["cells"]["m01"]
    assert first["version"] == second["version"] == 1
    do_save_cells(company.lead_sh.user, scenario, [CellChange(id=c.pk, version=1, field="target", value=111)])
    with pytest.raises(Conflict) as refused:
        do_save_cells(
            company.director_east.user,
            scenario,
            [
                CellChange(id=c.pk, version=1, field="target", value=222),
                CellChange(
                    unit_id=company.hz.pk,
                    period_kind="month",
                    period_start=MONTHS[0],
                    field="target",
                    value=5,
                ),
            ],
        )
    assert refused.value.cells[0]["current"]["target"] == 111
    assert refused.value.cells[0]["yours"] == {"target": 222}
    c.refresh_from_db()
    assert (c.target, c.version) == (111, 2)
    # All or nothing: the other cell of the refused save was not written either.
    assert not TargetCell.objects.filter(unit=company.hz).exists()

    client.force_login(company.director_east.user)
    url = f"/api/v1/targets/plans/{scenario.plan_id}/cells"
    body = {
        "scenario_id": scenario.pk,
        "changes": [{"id": c.pk, "version": 1, "field": "target", "value": 333}],
    }
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 409
    answer = response.json()
    assert answer["detail"] and answer["errors"] == []
    assert answer["cells"][0]["current"]["target"] == 111 and answer["cells"][0]["yours"]["target"] == 333
    # Saved again with the version now current, the second editor's value stands.
    body["changes"][0]["version"] = answer["cells"][0]["current"]["version"]
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 200 and response.json()["cells"][0]["target"] == 333


def test_a_cell_created_by_someone_else_meanwhile_is_a_conflict(company, scenario):
    change = CellChange(
        unit_id=company.sh.pk, period_kind="month", period_start=MONTHS[0], field="target", value=7
    )
    do_save_cells(company.admin, scenario, [change])
    with pytest.raises(Conflict) as refused:
        do_save_cells(company.lead_sh.user, scenario, [CellChange(**{**change.__dict__, "value": 8})])
    assert refused.value.cells[0]["current"]["target"] == 7


def test_a_lead_changes_only_their_subtree(company, scenario):
    lead = company.lead_sh.user
    sz = cell(scenario, unit=company.sz, start=MONTHS[0], target=100)
    with pytest.raises(PermissionDenied):
        do_save_cells(lead, scenario, [CellChange(id=sz.pk, version=1, field="target", value=1)])
    with pytest.raises(PermissionDenied):
        do_save_cells(
            lead,
            scenario,
            [
                CellChange(
                    person_id=company.rep_sz.pk,
                    period_kind="month",
                    period_start=MONTHS[0],
                    field="target",
                    value=1,
                )
            ],
        )
    with pytest.raises(PermissionDenied):  # the parent of the lead's team
        do_save_cells(
            lead,
            scenario,
            [
                CellChange(
                    unit_id=company.east.pk, period_kind="year", period_start=YEAR, field="target", value=1
                )
            ],
        )
    data = grid(lead, scenario, company.sh)
    assert data["rows"][0]["editable"] and all(r["editable"] for r in data["rows"])
    # The director sees 上海组 inside 华东 but the lead cannot edit 华东's own row.
    assert not grid(lead, scenario, company.east)["rows"][0]["visible"] if _sees(lead, company.east) else True
    sz.refresh_from_db()
    assert sz.target == 100


def _sees(user, unit):
    from salestarget.org.models import OrgUnit

    return OrgUnit.objects.restrict(user).filter(pk=unit.pk).exists()


def test_a_rep_sees_only_their_own_row_and_changes_nothing(company, scenario, client):
    fill(scenario, [{"unit": company.sh}, {"person": company.rep_sh1}, {"person": company.rep_sh2}])
    rep = company.rep_sh1.user
    data = grid(rep, scenario, company.sh)
    assert [(r["kind"], r["id"]) for r in data["rows"][1:]] == [("person", company.rep_sh1.pk)]
    assert data["rows"][0]["cells"] == {} and not data["rows"][0]["visible"]
    assert not data["editable"]
    other = TargetCell.objects.filter(person=company.rep_sh2).first()
    with pytest.raises(PermissionDenied):
        do_save_cells(rep, scenario, [CellChange(id=other.pk, version=1, field="target", value=1)])
    mine = TargetCell.objects.filter(person=company.rep_sh1, period_kind="month").first()
    with pytest.raises(PermissionDenied):
        do_save_cells(rep, scenario, [CellChange(id=mine.pk, version=1, field="target", value=1)])

    client.force_login(rep)
    answer = client.get(f"/api/v1/targets/plans/{scenario.plan_id}/grid", {"unit_id": company.sh.pk})
    assert answer.status_code == 200
    people = {r["id"] for r in answer.json()["rows"] if r["kind"] == "person"}
    assert people == {company.rep_sh1.pk}
    assert str(other.target) not in answer.content.decode()
    # Another team's grid is not theirs to open.
    assert (
        client.get(f"/api/v1/targets/plans/{scenario.plan_id}/grid", {"unit_id": company.sz.pk}).status_code
        == 404
    )
    assert client.get(f"/targets/plans/{scenario.plan_id}/grid/?unit={company.sz.pk}").status_code == 404


def test_a_plan_in_force_is_never_saved_in_place(company, plan, scenario, client):
    """Approved: the grid is read-only. Published: edits become a change request (the page says
    so, tests/targets/test_change_requests.py sends one); saving cells is refused either way."""
    c = cell(scenario, unit=company.sh, start=MONTHS[0], target=100)
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.APPROVED)
    scenario.refresh_from_db()
    scenario.plan.refresh_from_db()
    data = grid(company.admin, scenario, company.sh)
    assert not data["editable"] and data["plan"]["mode"] == "read"
    with pytest.raises(DomainError):
        do_save_cells(company.admin, scenario, [CellChange(id=c.pk, version=1, field="target", value=1)])
    client.force_login(company.admin)
    page = client.get(f"/targets/plans/{plan.pk}/grid/?unit={company.sh.pk}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200 and 'data-testid="grid-read-only"' in page.content.decode()
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    scenario.plan.refresh_from_db()
    data = grid(company.admin, scenario, company.sh)
    assert data["editable"] and data["plan"]["mode"] == "request"
    with pytest.raises(DomainError):
        do_save_cells(company.admin, scenario, [CellChange(id=c.pk, version=1, field="target", value=1)])
    page = client.get(f"/targets/plans/{plan.pk}/grid/?unit={company.sh.pk}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert 'data-testid="grid-request-mode"' in page.content.decode()
    c.refresh_from_db()
    assert (c.target, c.version) == (100, 1)


@pytest.mark.parametrize(
    "change, status",
    [
        ({"field": "target", "value": -1}, 422),
        ({"field": "target", "value": 10**15 + 1}, 422),
        ({"field": "target", "value": "12"}, 422),
        ({"field": "target", "value": 1.5}, 422),
        ({"field": "bonus", "value": 1}, 422),
        ({"field": "target", "value": None}, 400),
        ({"locked": True}, 400),  # a new cell needs its target first
        ({}, 400),
    ],
)
def test_bad_values_are_refused_with_a_clear_error(company, scenario, client, change, status):
    client.force_login(company.admin)
    key = {"unit_id": company.sh.pk, "period_kind": "month", "period_start": "2027-01-01"}
    response = client.post(
        f"/api/v1/targets/plans/{scenario.plan_id}/cells",
        json.dumps({"changes": [{**key, **change}]}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == status
    assert response.json()["detail"]
    assert not TargetCell.objects.exists()


def test_bad_keys_are_refused(company, scenario):
    for change in (
        CellChange(unit_id=company.sh.pk, period_kind="month", period_start=dt.date(2028, 1, 1), field="target", value=1),
        CellChange(unit_id=company.sh.pk, person_id=company.rep_sh1.pk, period_kind="month", period_start=MONTHS[0], field="target", value=1),
        CellChange(unit_id=company.sh.pk, period_kind="month", period_start=MONTHS[0], product_id=company.product.pk, field="target", value=1),
        CellChange(id=1, field="target", value=1),
    ):  # fmt: skip
        with pytest.raises(DomainError):
            do_save_cells(company.admin, scenario, [change])


def test_a_locked_cell_keeps_its_value_until_unlocked(company, scenario):
    c = cell(scenario, unit=company.sh, start=MONTHS[0], target=100)
    do_save_cells(company.admin, scenario, [CellChange(id=c.pk, version=1, locked=True)])
    c.refresh_from_db()
    assert c.locked and c.version == 2 and c.source == TargetCell.Source.MANUAL
    with pytest.raises(DomainError):
        do_save_cells(company.admin, scenario, [CellChange(id=c.pk, version=2, field="target", value=5)])
    do_save_cells(
        company.admin,
        scenario,
        [
            CellChange(id=c.pk, version=2, locked=False),
            CellChange(id=c.pk, version=2, field="target", value=5),
        ],
    )
    c.refresh_from_db()
    assert (c.locked, c.target, c.version) == (False, 5, 3)


def test_the_api_grid_and_a_batch_of_pasted_cells(company, scenario, client):
    client.force_login(company.director_east.user)
    url = f"/api/v1/targets/plans/{scenario.plan_id}"
    answer = client.get(f"{url}/grid").json()
    assert answer["node"]["id"] == company.east.pk  # the topmost unit the director looks after
    changes = [
        {
            "unit_id": u.pk,
            "period_kind": "month",
            "period_start": m.isoformat(),
            "field": "target",
            "value": 100 * i,
        }
        for u in (company.sh, company.hz)
        for i, m in enumerate(MONTHS[:3], start=1)
    ]
    response = client.post(f"{url}/cells", json.dumps({"changes": changes}), content_type="application/json")
    assert response.status_code == 200, response.content
    assert len(response.json()["cells"]) == 6
    answer = client.get(f"{url}/grid", {"unit_id": company.east.pk}).json()
    assert answer["children_sum"]["target"]["m03"] == 600
    assert row(answer, "unit", company.hz.pk)["totals"]["target"] == 600
    too_many = {"changes": changes * 200}
    assert (
        client.post(f"{url}/cells", json.dumps(too_many), content_type="application/json").status_code == 422
    )


def test_the_grid_page_in_chinese(company, scenario, client):
    client.force_login(company.lead_sh.user)
    page = client.get(f"/targets/plans/{scenario.plan_id}/grid/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = page.content.decode()
    assert page.status_code == 200
    # No asset from a CDN: looked for in the addresses only (a random token once held "cdn").
    assert "上海组" in text and "tabulator.min.js" in text
    assert not re.search(r'(?:src|href)="[^"]*cdn', text, re.I)
    assert (
        client.get(f"/targets/plans/{scenario.plan_id}/")
        .content.decode()
        .count(f"/targets/plans/{scenario.plan_id}/grid/")
    )


def test_a_member_role_change_keeps_one_row(company, scenario):
    """A rep promoted to lead within the year stays one row (their membership as a member)."""
    Membership.objects.filter(person=company.rep_sh2).update(valid_to=dt.date(2027, 5, 31))
    MembershipFactory(
        person=company.rep_sh2, unit=company.sh, role=Membership.Role.MANAGER, valid_from=dt.date(2027, 6, 1)
    )
    rows = [r for r in grid(company.admin, scenario, company.sh)["rows"] if r["id"] == company.rep_sh2.pk]
    assert len(rows) == 1
