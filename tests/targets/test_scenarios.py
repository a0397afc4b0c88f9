"""Issue 13, scenarios (方案模拟): a plan's what-ifs are created empty or as exact copies, renamed,
deleted and promoted by those who plan the whole organisation only; exactly one scenario is the
plan; and the comparison's figures equal an independent sum over the cells the user may see."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from salestarget.core.errors import DomainError
from salestarget.engine.calendar import add_months
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import Plan, Scenario, Split, TargetCell
from salestarget.targets.scenarios import (
    MAX_SCENARIOS,
    compare,
    do_create_scenario,
    do_delete_scenario,
    do_promote_scenario,
    do_rename_scenario,
)
from salestarget.targets.services import do_create_plan
from salestarget.targets.smart import company_total

pytestmark = pytest.mark.django_db

UNITS = ("hq", "east", "south", "sh", "hz", "sz")
# Person -> the unit their cell names (None: a cell of the person alone).
PEOPLE = {
    "vp": "hq",
    "lead_sh": "sh",
    "rep_sh1": "sh",
    "rep_sh2": None,
    "rep_hz": "hz",
    "lead_sz": "sz",
    "rep_sz": None,
}


@pytest.fixture
def plan(company):
    period = fiscal_calendar().year(timezone.localdate().year + 1)
    return do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=period, floor_factor=Decimal("0.9")
    )


def fill(company, scenario: Scenario, seed: int) -> dict:
    """Year cells for every unit and person, 12 months for every unit, random whole fen; returns
    what was written, keyed as the test reads it back: ("unit"|"person", id) -> year target and
    (unit id, month start) -> month target."""
    rng = random.Random(seed)
    plan = scenario.plan
    written: dict = {}
    cells = []
    for name in UNITS:
        unit = getattr(company, name)
        value = rng.randrange(0, 10**12)
        written[("unit", unit.pk)] = value
        cells.append(
            TargetCell(
                scenario=scenario,
                unit=unit,
                period_kind=plan.period_kind,
                period_start=plan.period_start,
                target=value,
                floor=value * 9 // 10,
                locked=rng.random() < 0.3,
                source=rng.choice(["split", "manual"]),
                version=rng.randrange(1, 5),
            )
        )
        for m in range(12):
            start = add_months(plan.period_start, m)
            value = rng.randrange(0, 10**11)
            written[(unit.pk, start)] = value
            cells.append(
                TargetCell(
                    scenario=scenario, unit=unit, period_kind="month", period_start=start, target=value
                )
            )
    for name, unit_name in PEOPLE.items():
        person = getattr(company, name)
        value = rng.randrange(0, 10**10)
        written[("person", person.pk)] = value
        unit = getattr(company, unit_name) if unit_name else None
        cells.append(
            TargetCell(
                scenario=scenario,
                unit=unit,
                person=person,
                period_kind=plan.period_kind,
                period_start=plan.period_start,
                target=value,
            )
        )
    # A product's cell is another key: the comparison of totals leaves it out.
    cells.append(
        TargetCell(
            scenario=scenario,
            unit=company.hq,
            product=company.product,
            period_kind=plan.period_kind,
            period_start=plan.period_start,
            target=7,
        )
    )
    TargetCell.objects.bulk_create(cells)
    return written


def cell_rows(scenario: Scenario) -> set[tuple]:
    return set(
        TargetCell.objects.filter(scenario=scenario).values_list(
            "unit_id",
            "person_id",
            "period_kind",
            "period_start",
            "period_end",
            "product_id",
            "region_id",
            "segment_id",
            "floor",
            "target",
            "stretch",
            "locked",
            "source",
        )
    )


def primary_of(plan: Plan) -> Scenario:
    return plan.scenarios.get(is_primary=True)


# --------------------------------------------------------------------------- writes


def test_a_copy_holds_the_same_cells_rules_and_splits(company, plan):
    base = primary_of(plan)
    fill(company, base, 1)
    base.rules = {"org": [{"depth": 1, "method": "history", "years": 3}]}
    base.decomposed_at = timezone.now()
    base.save()
    Split.objects.create(
        scenario=base, axis="org", parent=f"u{company.hq.pk}", keys=["u1"], explanation={"m": 1}
    )
    history_before = TargetCell.history.count()

    copy = do_create_scenario(company.admin, plan, name="  乐观方案 ", copy_from=base)

    assert copy.name == "乐观方案" and not copy.is_primary and copy.plan_id == plan.pk
    assert (
        cell_rows(copy) == cell_rows(base)
        and len(cell_rows(copy)) == TargetCell.objects.filter(scenario=base).count()
    )
    assert set(TargetCell.objects.filter(scenario=copy).values_list("version", flat=True)) == {1}
    assert copy.rules == base.rules and copy.decomposed_at == base.decomposed_at
    assert list(copy.splits.values_list("axis", "parent", "keys", "explanation")) == [
        ("org", f"u{company.hq.pk}", ["u1"], {"m": 1})
    ]
    # Each copied cell has its history row, naming who made it.
    added = TargetCell.history.filter(scenario_id=copy.pk, history_type="+")
    assert (
        TargetCell.history.count() - history_before
        == added.count()
        == TargetCell.objects.filter(scenario=copy).count()
    )
    assert set(added.values_list("history_user_id", flat=True)) == {company.admin.pk}
    # The original is untouched, and an empty scenario is empty.
    empty = do_create_scenario(company.admin, plan, name="空白")
    assert TargetCell.objects.filter(scenario=empty).count() == 0 and empty.rules == {}
    assert primary_of(plan) == base


def test_names_are_unique_per_plan_and_the_count_bounded(company, plan):
    do_create_scenario(company.admin, plan, name="乐观方案")
    for name in ("乐观方案", " 乐观方案", "", "   ", "x" * 101):
        with pytest.raises(DomainError):
            do_create_scenario(company.admin, plan, name=name)
    # Another plan may use the same name; a scenario of another plan is no source.
    other = do_create_plan(
        company.admin, metric=Metric.objects.get(code="collections"), period=fiscal_calendar().year(2031)
    )
    do_create_scenario(company.admin, other, name="乐观方案")
    with pytest.raises(DomainError):
        do_create_scenario(company.admin, plan, name="借用", copy_from=primary_of(other))
    for n in range(MAX_SCENARIOS - 2):
        do_create_scenario(company.admin, plan, name=f"方案{n}")
    assert plan.scenarios.count() == MAX_SCENARIOS
    with pytest.raises(DomainError):
        do_create_scenario(company.admin, plan, name="第十一个")


def test_rename_and_delete(company, plan):
    base = primary_of(plan)
    fill(company, base, 2)
    first = do_create_scenario(company.admin, plan, name="A", copy_from=base)
    second = do_create_scenario(company.admin, plan, name="B")
    Split.objects.create(scenario=first, axis="org", parent="u1", keys=[], explanation={})
    with pytest.raises(DomainError):
        do_rename_scenario(company.admin, second, name="a")
    do_rename_scenario(company.admin, second, name="B")  # its own name again
    do_rename_scenario(company.admin, first, name="保守方案")
    assert Scenario.objects.get(pk=first.pk).name == "保守方案"
    kept = cell_rows(base)
    cells = TargetCell.objects.filter(scenario=first).count()

    do_delete_scenario(company.admin, first)

    assert not Scenario.objects.filter(pk=first.pk).exists()
    assert not TargetCell.objects.filter(scenario_id=first.pk).exists()
    assert not Split.objects.filter(scenario_id=first.pk).exists()
    assert TargetCell.history.filter(scenario_id=first.pk, history_type="-").count() == cells
    assert cell_rows(base) == kept
    with pytest.raises(DomainError):
        do_delete_scenario(company.admin, base)
    assert Scenario.objects.filter(pk=base.pk, is_primary=True).exists()


def test_promotion_keeps_exactly_one_primary(company, plan):
    base = primary_of(plan)
    fill(company, base, 3)
    copy = do_create_scenario(company.admin, plan, name="挑战方案", copy_from=base)
    TargetCell.objects.filter(scenario=copy, unit=company.hq, period_kind=plan.period_kind).update(
        target=123_456_78
    )

    do_promote_scenario(company.admin, copy)

    assert list(plan.scenarios.filter(is_primary=True)) == [copy]
    assert Scenario.objects.filter(pk=base.pk, is_primary=False).exists()
    assert company_total(plan).target == 123_456_78
    do_promote_scenario(company.admin, copy)  # already the plan: nothing changes
    do_promote_scenario(company.admin, base)  # and back
    assert list(plan.scenarios.filter(is_primary=True)) == [base]
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    with pytest.raises(DomainError):
        do_promote_scenario(company.admin, copy)
    assert list(plan.scenarios.filter(is_primary=True)) == [base]


@pytest.mark.parametrize("username", ["director_east", "lead_sh", "rep_sh1"])
def test_only_planners_write(company, plan, username):
    user = getattr(company, username).user
    base = primary_of(plan)
    other = do_create_scenario(company.vp.user, plan, name="王总的方案")  # the company's manager plans
    for write in (
        lambda: do_create_scenario(user, plan, name="新"),
        lambda: do_create_scenario(user, plan, name="新", copy_from=base),
        lambda: do_rename_scenario(user, other, name="新"),
        lambda: do_delete_scenario(user, other),
        lambda: do_promote_scenario(user, other),
    ):
        with pytest.raises(PermissionDenied):
            write()
    assert sorted(plan.scenarios.values_list("name", "is_primary")) == sorted(
        [(base.name, True), ("王总的方案", False)]
    )


# --------------------------------------------------------------------------- the comparison


def expected_rows(company, node_name: str, written: list[dict]) -> dict:
    """The node's children with their values per scenario, from what was written."""
    children = {
        "hq": (["east", "south"], ["vp"]),
        "east": (["sh", "hz"], ["director_east"]),
        "sh": ([], ["lead_sh", "rep_sh1", "rep_sh2"]),
    }[node_name]
    out = {}
    for name in children[0]:
        out[("unit", getattr(company, name).pk)] = [w[("unit", getattr(company, name).pk)] for w in written]
    for name in children[1]:
        key = ("person", getattr(company, name).pk)
        if all(key in w for w in written):
            out[key] = [w[key] for w in written]
    return out


@pytest.mark.parametrize("node_name", ["hq", "east", "sh"])
def test_compare_figures_equal_an_independent_sum(company, plan, node_name):
    base = primary_of(plan)
    written = [fill(company, base, 10)]
    others = [do_create_scenario(company.admin, plan, name=f"S{i}") for i in range(2)]
    for i, scenario in enumerate(others):
        written.append(fill(company, scenario, 20 + i))
    # A zero base: its percent differences are None, the amounts still exact.
    TargetCell.objects.filter(scenario=base, unit=company.south, period_kind=plan.period_kind).update(
        target=0
    )
    written[0][("unit", company.south.pk)] = 0
    node = getattr(company, node_name)

    result = compare(company.admin, plan, [base, *others], unit=node)

    want = expected_rows(company, node_name, written)
    got = {(r["kind"], r["id"]): r for r in result["rows"]}
    assert set(got) == set(want)
    for key, values in want.items():
        assert got[key]["values"] == values
        for value, difference in zip(values[1:], got[key]["differences"], strict=True):
            assert difference["amount"] == value - values[0]
            if values[0] == 0:
                assert difference["percent"] is None
            else:
                assert abs(difference["percent"] - (value - values[0]) * 100 / values[0]) <= 0.05
    assert result["total"]["values"] == [w[("unit", node.pk)] for w in written]
    assert result["children_sum"]["values"] == [sum(v[i] for v in want.values()) for i in range(3)]
    months = [add_months(plan.period_start, m) for m in range(12)]
    assert [m["start"] for m in result["months"]] == months
    assert [m["values"] for m in result["months"]] == [[w[(node.pk, s)] for w in written] for s in months]
    assert all(isinstance(v, int) for r in result["rows"] for v in r["values"])
    assert [s["id"] for s in result["scenarios"]] == [base.pk, *(s.pk for s in others)]


def test_people_who_left_during_the_period_are_compared_where_they_were(company, plan):
    """A member on any day of the plan's period counts; one who left before it does not."""
    from salestarget.org.models import Membership
    from tests.factories import PersonFactory

    base = primary_of(plan)
    gone = PersonFactory(name="早走")
    Membership.objects.create(
        person=gone, unit=company.hz, valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2021, 1, 1)
    )
    mid = PersonFactory(name="年中离职")
    Membership.objects.create(
        person=mid,
        unit=company.hz,
        valid_from=dt.date(2020, 1, 1),
        valid_to=plan.period_start + dt.timedelta(days=100),
    )
    for person in (gone, mid):
        TargetCell.objects.create(
            scenario=base,
            person=person,
            period_kind=plan.period_kind,
            period_start=plan.period_start,
            target=5,
        )
    rows = compare(company.admin, plan, [base], unit=company.hz)["rows"]
    assert [(r["kind"], r["id"]) for r in rows] == [("person", mid.pk)]


@pytest.mark.parametrize(
    "username,node_name",
    [("rep_sh1", "sh"), ("rep_sh1", "hq"), ("lead_sh", "sh"), ("lead_sh", "east"), ("director_east", "hq")],
)
def test_a_user_compares_only_what_restrict_allows(company, plan, username, node_name):
    base = primary_of(plan)
    written = [fill(company, base, 30)]
    copy = do_create_scenario(company.admin, plan, name="副本", copy_from=base)
    written.append(dict(written[0]))
    user = getattr(company, username).user
    node = getattr(company, node_name)

    result = compare(user, plan, [base, copy], unit=node)

    visible = TargetCell.objects.restrict(user).filter(scenario=base, period_kind=plan.period_kind)
    visible_units = set(visible.filter(person__isnull=True).values_list("unit_id", flat=True))
    visible_people = set(visible.filter(person__isnull=False).values_list("person_id", flat=True))
    want = {
        key: values
        for key, values in expected_rows(company, node_name, written).items()
        if key[1] in (visible_units if key[0] == "unit" else visible_people)
    }
    assert {(r["kind"], r["id"]): r["values"] for r in result["rows"]} == want
    total = result["total"]["values"]
    assert total == ([written[0][("unit", node.pk)]] * 2 if node.pk in visible_units else [None, None])
    if username == "rep_sh1":
        assert set(want) <= {("person", company.rep_sh1.pk)}
        assert result["months"] == []


def test_compare_refuses_scenarios_of_another_plan(company, plan):
    other = do_create_plan(
        company.admin, metric=Metric.objects.get(code="collections"), period=fiscal_calendar().year(2031)
    )
    with pytest.raises(DomainError):
        compare(company.admin, plan, [primary_of(plan), primary_of(other)])
    with pytest.raises(DomainError):
        compare(company.admin, plan, [])


# --------------------------------------------------------------------------- pages


def test_the_scenarios_page_writes_through_the_service(company, plan, login):
    base = primary_of(plan)
    fill(company, base, 40)
    url = f"/targets/plans/{plan.pk}/scenarios/"
    client = login("rep_sh1")
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "copy", "scenario": base.pk}).status_code == 403
    client = login("vp")
    page = client.get(url)
    assert page.status_code == 200 and b'data-testid="new-scenario"' in page.content
    response = client.post(url, {"action": "copy", "scenario": base.pk})
    assert response.status_code == 302 and response["Location"] == url
    copy = plan.scenarios.get(is_primary=False)
    assert cell_rows(copy) == cell_rows(base)
    client.post(url, {"action": "copy", "scenario": base.pk})
    assert plan.scenarios.count() == 3 and len(set(plan.scenarios.values_list("name", flat=True))) == 3
    client.post(url, {"action": "rename", "scenario": copy.pk, "name": "冲刺方案"})
    client.post(url, {"action": "promote", "scenario": copy.pk})
    assert primary_of(plan).name == "冲刺方案"
    # A refused write is a message on the page, not an error.
    response = client.post(url, {"action": "delete", "scenario": copy.pk}, follow=True)
    assert response.status_code == 200 and Scenario.objects.filter(pk=copy.pk).exists()
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"
    client.post(url, {"action": "create", "name": "空白", "copy_from": ""})
    assert TargetCell.objects.filter(scenario__name="空白", scenario__plan=plan).count() == 0


def test_the_compare_page(company, plan, login):
    base = primary_of(plan)
    fill(company, base, 50)
    copy = do_create_scenario(company.admin, plan, name="副本", copy_from=base)
    url = f"/targets/plans/{plan.pk}/compare/"
    client = login("vp")
    page = client.get(url, {"s": [copy.pk, base.pk]})
    assert page.status_code == 200
    result = page.context["result"]
    assert [s["id"] for s in result["scenarios"]] == [copy.pk, base.pk]
    assert [r["id"] for r in result["rows"] if r["kind"] == "unit"] == [company.east.pk, company.south.pk]
    assert b'id="chart-bars"' in page.content and b'id="chart-months"' in page.content
    assert f"unit={company.east.pk}".encode() in page.content
    drilled = client.get(url, {"s": [base.pk], "unit": company.east.pk})
    assert drilled.context["result"]["node"]["id"] == company.east.pk
    # A rep starts at their own team and cannot open another unit.
    client = login("rep_sh1")
    mine = client.get(url)
    assert mine.status_code == 200 and mine.context["result"]["node"]["id"] == company.sh.pk
    assert [(r["kind"], r["id"]) for r in mine.context["result"]["rows"]] == [("person", company.rep_sh1.pk)]
    assert client.get(url, {"unit": company.sz.pk}).status_code == 404
    assert client.get(url, {"unit": "x"}).status_code == 404


# --------------------------------------------------------------------------- API


def test_the_api(company, plan, client):
    base = primary_of(plan)
    written = fill(company, base, 60)
    client.force_login(company.admin)
    api = "/api/v1/targets"
    listed = client.get(f"{api}/plans/{plan.pk}/scenarios").json()
    assert [(s["id"], s["is_primary"], s["total"]) for s in listed] == [
        (base.pk, True, written[("unit", company.hq.pk)])
    ]
    made = client.post(
        f"{api}/plans/{plan.pk}/scenarios",
        {"name": "乐观", "copy_from": base.pk},
        content_type="application/json",
    )
    assert made.status_code == 200, made.content
    copy_id = made.json()["id"]
    assert cell_rows(Scenario.objects.get(pk=copy_id)) == cell_rows(base)
    again = client.post(f"{api}/plans/{plan.pk}/scenarios", {"name": "乐观"}, content_type="application/json")
    assert again.status_code == 400 and again.json()["detail"]
    renamed = client.patch(f"{api}/scenarios/{copy_id}", {"name": "激进"}, content_type="application/json")
    assert renamed.json()["name"] == "激进"
    TargetCell.objects.filter(scenario_id=copy_id, unit=company.east, period_kind=plan.period_kind).update(
        target=10
    )
    compared = client.get(
        f"{api}/plans/{plan.pk}/compare", {"scenario_ids": [base.pk, copy_id], "unit_id": company.hq.pk}
    )
    assert compared.status_code == 200, compared.content
    east = next(r for r in compared.json()["rows"] if r["kind"] == "unit" and r["id"] == company.east.pk)
    assert east["values"] == [written[("unit", company.east.pk)], 10]
    assert east["differences"][0]["amount"] == 10 - written[("unit", company.east.pk)]
    assert client.post(f"{api}/scenarios/{copy_id}/promote").json()["is_primary"] is True
    assert client.delete(f"{api}/scenarios/{base.pk}").json() == {"id": base.pk, "deleted": True}
    assert client.delete(f"{api}/scenarios/{copy_id}").status_code == 400
    other = do_create_plan(
        company.admin, metric=Metric.objects.get(code="collections"), period=fiscal_calendar().year(2031)
    )
    stranger = primary_of(other).pk
    assert client.get(f"{api}/plans/{plan.pk}/compare", {"scenario_ids": [stranger]}).status_code == 404
    # A rep reads what they may see and writes nothing.
    client.force_login(company.rep_sh1.user)
    assert client.post(f"{api}/scenarios/{copy_id}/promote").status_code == 403
    assert client.delete(f"{api}/scenarios/{copy_id}").status_code == 403
    mine = client.get(f"{api}/plans/{plan.pk}/compare").json()
    assert mine["node"]["id"] == company.sh.pk and mine["total"]["values"] == [None]
    assert [(r["kind"], r["id"]) for r in mine["rows"]] == [("person", company.rep_sh1.pk)]
    assert client.get(f"{api}/plans/{plan.pk}/compare", {"unit_id": company.sz.pk}).status_code == 404
    assert client.get(f"{api}/plans/{plan.pk}/scenarios").json()[0]["total"] is None


def test_compare_lists_sibling_units_by_code_whatever_their_ids(company, plan):
    """Found in CI on PostgreSQL: siblings came in path order, which compares ids as text, so
    unit 1000 came before unit 999 once the sequence crossed a power of ten."""
    from salestarget.org.models import OrgUnit

    base = primary_of(plan)
    parent = OrgUnit.objects.create(code="WEST", name="华西", kind=OrgUnit.Kind.REGION, parent=company.hq)
    first = OrgUnit.objects.create(pk=99999, code="W1", name="成都组", kind=OrgUnit.Kind.TEAM, parent=parent)
    second = OrgUnit.objects.create(
        pk=100000, code="W2", name="重庆组", kind=OrgUnit.Kind.TEAM, parent=parent
    )
    for unit in (first, second):
        TargetCell.objects.create(
            scenario=base, unit=unit, period_kind=plan.period_kind, period_start=plan.period_start, target=100
        )
    result = compare(company.admin, plan, [base], unit=parent)
    assert [r["id"] for r in result["rows"] if r["kind"] == "unit"] == [first.pk, second.pk]
