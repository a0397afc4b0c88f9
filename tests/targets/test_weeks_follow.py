"""Weeks follow accepted changes (issue 14): a published plan with weeks whose months change by
an accepted change request (here a rep's move mid-year) still has every node's weeks adding up
to its months and each parent's weeks to its children's, checked by the decomposition tests'
independent sums; a restored version's weeks follow its months back."""

from __future__ import annotations

import datetime as dt

import pytest

from salestarget.targets import changes, midyear, workflow
from salestarget.targets import decomposition as D
from salestarget.targets.models import TargetCell
from tests.targets.test_decomposition import RULES, check_exact, make_plan

pytestmark = pytest.mark.django_db


def weeks_of(scenario, **owner) -> dict[dt.date, int]:
    cells = scenario.cells.filter(period_kind="week", product=None, **owner)
    return {c.period_start: c.target for c in cells}


def parent_weeks_add_up(scenario, parent, kids) -> None:
    whole = weeks_of(scenario, unit=parent, person=None)
    parts = [weeks_of(scenario, unit=k, person=None) for k in kids]
    assert whole and all(whole[w] == sum(p[w] for p in parts) for w in whole)


def test_a_move_accepted_moves_the_weeks_and_a_restore_brings_them_back(company, sales):
    c = company
    plan, scenario = make_plan(c)
    D.do_decompose(c.admin, scenario, D.Rules.from_json(RULES))
    before_sh = weeks_of(scenario, unit=c.sh, person=None)
    for action in ("submit", "approve", "publish"):
        workflow.do_workflow(c.admin, plan, action)
    plan.refresh_from_db()
    july = dt.date(plan.period_start.year, 7, 15)
    request = midyear.do_request_move(c.admin, plan, c.rep_sh1, c.hz, july, reason="调往杭州组")
    changes.do_decide_change(c.admin, request, "accept", comment="同意")
    # Each node's weeks add up to its year (= its months); parents whose months still add up
    # (the region and the company) have weeks that add up too.
    check_exact(plan, scenario, c, over=True)
    parent_weeks_add_up(scenario, c.east, [c.sh, c.hz])
    parent_weeks_add_up(scenario, c.hq, [c.east, c.south])
    after_sh = weeks_of(scenario, unit=c.sh, person=None)
    assert sum(after_sh.values()) < sum(before_sh.values())
    moved = [w for w in after_sh if after_sh[w] != before_sh[w]]
    # Weeks follow months: the weeks before the month of the move stand.
    first_of_july = dt.date(july.year, 7, 1)
    assert moved and min(moved) == first_of_july - dt.timedelta(days=first_of_july.weekday())
    week = scenario.cells.get(unit=c.sh, person=None, period_kind="week", period_start=max(moved))
    last = week.history.order_by("-history_date", "-history_id").first()
    assert last.history_user == c.admin and "调往杭州组" in last.history_change_reason
    draft = changes.do_restore_version(c.admin, plan, 1)
    restored = draft.scenarios.get(is_primary=True)
    check_exact(draft, restored, c)  # the original tree: every parent adds up again
    assert weeks_of(restored, unit=c.sh, person=None) == before_sh
    assert TargetCell.objects.filter(scenario=restored, period_kind="week").count() == (
        TargetCell.objects.filter(scenario=scenario, period_kind="week").count()
    )
