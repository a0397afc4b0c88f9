"""The decomposition of a plan: exact on every axis (year = months = weeks, children = parent,
lines x months), locks and hand-set cells kept on a re-run, explained step by step, refused
clearly when the rules are wrong, and only for those who plan the whole organisation."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import given, settings
from hypothesis import strategies as st

from salestarget.core.errors import DomainError
from salestarget.engine.allocate import AllocationError
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import decomposition as D
from salestarget.targets.models import Scenario, TargetCell
from salestarget.targets.services import LevelSpec, do_create_plan
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

TOTAL = 12_345_678_901  # fen: 1.23 亿元, not a round number
RULES = {
    "levels": [
        {"depth": 1, "method": "history", "years": 3, "recency": [1, 2, 3]},
        {"depth": 2, "method": "capability"},
        {"depth": 3, "method": "capability", "ramp": [0.25, 0.5, 0.75, 1]},
    ],
    "months": "seasonality",
    "weeks": True,
}


def make_plan(company, *, by_product=False, levels=()):
    from django.utils import timezone

    plan = do_create_plan(
        company.admin,
        metric=Metric.objects.get(code="sales"),
        period=fiscal_calendar().year(timezone.localdate().year + 1),
        by_product=by_product,
        levels=list(levels),
    )
    # The company total as do_set_plan_total writes it (without its chance: no forecast here).
    scenario = plan.scenarios.get(is_primary=True)
    TargetCell.objects.create(
        scenario=scenario,
        unit=company.hq,
        period_kind=plan.period_kind,
        period_start=plan.period_start,
        target=TOTAL,
    )
    plan.total_method = plan.TotalMethod.TYPED
    plan.save()
    return plan, scenario


def owner(c) -> str:
    return D.node_key(c["unit_id"], c["person_id"])


def read(scenario: Scenario):
    return list(
        scenario.cells.values("unit_id", "person_id", "period_kind", "period_start", "product_id", "target")
    )


def check_exact(plan, scenario, company, *, over: bool = False):
    """An independent check of every sum the decomposition promises."""
    cells = read(scenario)
    year = {(owner(c), c["product_id"]): c["target"] for c in cells if c["period_kind"] == "year"}
    months = defaultdict(int)
    by_month = {}
    weeks = defaultdict(int)
    by_week = defaultdict(int)
    for c in cells:
        if c["period_kind"] == "month":
            months[(owner(c), c["product_id"])] += c["target"]
            by_month[(owner(c), c["period_start"], c["product_id"])] = c["target"]
        elif c["period_kind"] == "week":
            assert c["period_start"].weekday() == 0
            weeks[owner(c)] += c["target"]
            by_week[(owner(c), c["period_start"])] += c["target"]
    assert year[(D.node_key(company.hq.pk), None)] == TOTAL
    for key, value in year.items():
        assert months[key] == value, key
    for key, value in weeks.items():
        assert value == year[(key, None)], key
    # Children add up to their parent, month by month (no over-assignment declared).
    if not over:
        parents = {
            D.node_key(company.sh.pk): [company.rep_sh1, company.rep_sh2],
            D.node_key(company.east.pk): [company.sh, company.hz],
            D.node_key(company.hq.pk): [company.east, company.south],
        }
        for parent, kids in parents.items():
            keys = [D.node_key(person_id=k.pk) if hasattr(k, "hire_date") else D.node_key(k.pk) for k in kids]
            assert sum(year[(k, None)] for k in keys) == year[(parent, None)]
            for (who, start, product), value in by_month.items():
                if who == parent:
                    assert sum(by_month[(k, start, product)] for k in keys) == value
            for (who, start), value in list(by_week.items()):
                if who == parent:
                    assert sum(by_week[(k, start)] for k in keys) == value, (parent, start)
    return cells


def test_the_total_goes_down_to_every_rep_month_and_week_exactly(company, sales):
    plan, scenario = make_plan(company)
    result = D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))
    cells = check_exact(plan, scenario, company)
    assert result["people"] == 4 and result["cells_written"] == len(cells) - 1
    rep_year = {c["person_id"]: c["target"] for c in cells if c["person_id"] and c["period_kind"] == "year"}
    assert set(rep_year) == {company.rep_sh1.pk, company.rep_sh2.pk, company.rep_hz.pk, company.rep_sz.pk}
    assert all(v > 0 for v in rep_year.values())
    assert all(c["target"] >= 0 for c in cells)
    scenario.refresh_from_db()
    assert scenario.rules["levels"][0]["method"] == "history" and scenario.decomposed_at is not None


def test_regions_follow_their_history(company, sales):
    """Shanghai sold 3.5 times what Shenzhen sold: East gets 3.5/4.5 of the total."""
    plan, scenario = make_plan(company)
    D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))
    east = scenario.cells.get(unit=company.east, person=None, period_kind="year").target
    assert abs(east / TOTAL - 3.5 / 4.5) < 0.02


def test_over_assignment_and_rounding_per_level(company, sales):
    plan, scenario = make_plan(company, levels=[LevelSpec(1, 1_000_000, 500)])
    D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))
    regions = scenario.cells.filter(unit__in=[company.east, company.south], person=None, period_kind="year")
    values = [c.target for c in regions]
    assert sum(values) == round(TOTAL * 1.05)
    assert all(v % 1_000_000 == 0 for v in values[:-1]) or all(v % 1_000_000 == 0 for v in values[1:])
    check_exact(plan, scenario, company, over=True)


def test_a_rerun_keeps_locks_and_cells_set_by_hand(company, sales):
    plan, scenario = make_plan(company)
    rules = D.Rules.from_json(RULES)
    D.do_decompose(company.admin, scenario, rules)
    rep_year = scenario.cells.get(person=company.rep_sh1, period_kind="year", product=None)
    rep_year.target, rep_year.locked = rep_year.target + 12_345, True
    rep_year.save()
    first_month = D.plan_months(plan)[0].start
    hand = scenario.cells.get(person=company.rep_sh2, period_kind="month", period_start=first_month)
    hand.target, hand.source = hand.target - 999, TargetCell.Source.MANUAL
    hand.save()
    D.do_decompose(company.admin, scenario, D.Rules.from_json({**RULES, "levels": RULES["levels"][:2]}))
    assert scenario.cells.get(pk=rep_year.pk).target == rep_year.target
    assert scenario.cells.get(pk=hand.pk).target == hand.target
    check_exact(plan, scenario, company)
    # A lone rep's month set apart from the team's month cannot be kept: refused by name.
    alone = scenario.cells.get(person=company.rep_hz, period_kind="month", period_start=first_month)
    alone.target, alone.locked = alone.target + 100, True
    alone.save()
    with pytest.raises(DomainError, match="杭州组"):
        D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))
    assert scenario.cells.get(pk=hand.pk).target == hand.target  # nothing written


def test_a_rerun_keeps_locked_and_imported_weeks_and_every_sum_holds(company, sales):
    """A week cell kept on a re-run (locked, or imported from the planner's file) is fitted
    around like a kept month: the rep's other weeks take the rest of each month, and the
    team's weeks still add up."""
    plan, scenario = make_plan(company)
    D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))
    weeks = scenario.cells.filter(person=company.rep_sh1, period_kind="week").order_by("period_start")
    inside = weeks[2]
    straddling = next(
        w
        for w in weeks
        if (w.period_start + dt.timedelta(days=6)).month != w.period_start.month and w.target > 100_000
    )
    inside.target, inside.locked = inside.target + 50_000, True
    inside.save()
    straddling.target, straddling.source = straddling.target - 30_000, TargetCell.Source.IMPORT
    straddling.save()
    D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))
    assert scenario.cells.get(pk=inside.pk).target == inside.target
    assert scenario.cells.get(pk=straddling.pk).target == straddling.target
    check_exact(plan, scenario, company)
    # The only rep of a team cannot hold a week apart from the team's week: refused by name.
    alone = scenario.cells.filter(person=company.rep_hz, period_kind="week").order_by("period_start")[2]
    alone.target, alone.locked = alone.target + 100, True
    alone.save()
    with pytest.raises(DomainError, match="杭州组"):
        D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))


def test_product_lines_add_up_on_every_axis(company, sales):
    ProductFactory(code="P2", name="边缘服务器")
    plan, scenario = make_plan(company, by_product=True)
    D.do_decompose(company.admin, scenario, D.Rules.from_json({**RULES, "weeks": False}))
    cells = check_exact(plan, scenario, company)
    month = defaultdict(int)
    lines = defaultdict(int)
    for c in cells:
        if c["period_kind"] == "month":
            if c["product_id"]:
                lines[(owner(c), c["period_start"])] += c["target"]
            else:
                month[(owner(c), c["period_start"])] = c["target"]
    assert month and all(lines[k] == v for k, v in month.items())
    # Only the history's product line sold: the new line still gets its minimum share.
    line_totals = [
        c["target"]
        for c in cells
        if c["product_id"] and c["period_kind"] == "year" and c["person_id"] is None
    ]
    assert all(v > 0 for v in line_totals)


def test_a_vacancy_holds_part_of_its_team(company, sales):
    plan, scenario = make_plan(company)
    start = D.plan_months(plan)[3].start
    rules = D.Rules.from_json(
        {**RULES, "vacancies": [{"unit": "SH", "start": start.isoformat(), "tier": "B"}]}
    )
    D.do_decompose(company.admin, scenario, rules)
    team = scenario.cells.get(unit=company.sh, person=None, period_kind="year", product=None).target
    people = sum(
        scenario.cells.filter(person__in=[company.rep_sh1, company.rep_sh2], period_kind="year").values_list(
            "target", flat=True
        )
    )
    assert 0 < team - people < team / 2


def test_why_is_my_target_this_number(company, sales):
    plan, scenario = make_plan(company)
    D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))
    cell = scenario.cells.get(
        person=company.rep_sh1, period_kind="month", period_start=D.plan_months(plan)[1].start
    )
    steps = D.why(company.rep_sh1.user, cell, "zh")
    titles = [s["title"] for s in steps]
    assert titles[1:4] == ["华东", "上海组", "陈一"]
    text = "\n".join(s["text"] for s in steps)
    assert "比例分解法" in text and "能力/资源匹配法" in text and "季节性" in text
    assert "陈二" not in text  # the rep's own line only, not a colleague's


def test_bad_rules_are_refused_by_name():
    with pytest.raises(DomainError, match="magic"):
        D.Rules.from_json({"levels": [{"depth": 1, "method": "magic"}]})
    with pytest.raises(DomainError):
        D.Rules.from_json({"levels": [{"depth": 1, "method": "history", "years": 3, "recency": [1, 2]}]})
    with pytest.raises(DomainError):
        D.Rules.from_json({"months": "profile", "profile": [50, 40]})
    with pytest.raises(DomainError):
        D.Rules.from_json({"levels": [{"depth": 2, "method": "capability", "ramp": [2]}]})
    rules = D.Rules.from_json(RULES)
    assert D.Rules.from_json(rules.as_json()) == rules


def test_only_planners_decompose(company, sales):
    plan, scenario = make_plan(company)
    for user in (company.lead_sh.user, company.rep_sh1.user):
        with pytest.raises(PermissionDenied):
            D.do_decompose(user, scenario, D.Rules.from_json(RULES))
    plan.status = plan.Status.PUBLISHED
    plan.save()
    with pytest.raises(DomainError):
        D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))


def test_a_decomposition_without_a_total_says_so(company):
    plan = do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(2031)
    )
    with pytest.raises(DomainError):
        D.do_decompose(company.admin, plan.scenarios.get(), D.Rules.from_json(RULES))


def test_weeks_start_on_monday_and_split_months_by_working_days(company, sales):
    plan, _scenario = make_plan(company)
    months = D.plan_months(plan)
    parts = D.week_parts(months)
    assert all(anchor.weekday() == 0 for _i, anchor, _days in parts)
    days = defaultdict(int)
    per_week = defaultdict(int)
    for i, anchor, count in parts:
        days[i] += count
        per_week[anchor] += 1
    assert [days[i] for i in range(len(months))] == list(fiscal_calendar().working_day_counts(months))
    assert 1 <= max(per_week.values()) <= 2 and sum(1 for n in per_week.values() if n == 2) >= 8


@st.composite
def tables(draw):
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 8))
    cells = np.array(draw(st.lists(st.integers(0, 10**9), min_size=n * m, max_size=n * m))).reshape(n, m)
    fixed = {}
    for i in range(n):
        for j in range(m):
            if draw(st.integers(0, 9)) == 0:
                fixed[(i, j)] = int(cells[i, j])
    return cells, fixed


@settings(max_examples=60, deadline=None)
@given(tables())
def test_fit_is_exact_and_keeps_fixed_cells(case):
    """Any feasible table (made from a real one) is fitted exactly with its fixed cells kept."""
    cells, fixed = case
    rows, cols = cells.sum(axis=1), cells.sum(axis=0)
    try:
        out = D._fit(rows, cols, fixed)
    except AllocationError:
        # Only when a row or column has nothing free left to absorb its rest.
        free = np.ones(cells.shape, dtype=bool)
        for i, j in fixed:
            free[i, j] = False
        rest_r = rows - np.array([sum(v for (i, _), v in fixed.items() if i == r) for r in range(len(rows))])
        assert ((rest_r != 0) & ~free.any(axis=1)).any() or not free.any()
        return
    assert (out.sum(axis=1) == rows).all() and (out.sum(axis=0) == cols).all()
    assert (out >= 0).all()
    assert all(out[i, j] == v for (i, j), v in fixed.items())


def test_weights_by_code_and_the_command_line(company, sales, tmp_path):
    """Regions by the planner's weights (East 3, South 1), run from `salestarget plan decompose`."""
    import json

    from django.core.management import call_command

    plan, scenario = make_plan(company)
    rules = {"levels": [{"depth": 1, "method": "weights", "weights": {"EAST": 3, "SOUTH": 1}}]}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    call_command("plan", "decompose", str(plan.pk), "--rules", str(path))
    east = scenario.cells.get(unit=company.east, person=None, period_kind="year").target
    assert east == TOTAL * 3 // 4 or east == -(-TOTAL * 3 // 4)
    check_exact(plan, scenario, company)
    with pytest.raises(DomainError, match="EAST|权重|weight"):
        D.Rules.from_json({"levels": [{"depth": 1, "method": "weights", "weights": {"EAST": -1}}]})
