"""QA of team commitments (团队共创) on a plan decomposed over months (and weeks), with floor and
stretch factors:

1. reconcile obeys the freeze of a submitted or approved part, as the grid and imports do;
2. reconcile keeps the plan exact: the node's months (and weeks) follow its new total, in
   proportion to their targets, to the fen, floor and stretch by the plan's factors;
3. the kick-off view keeps the figure handed down beside the commitment and the agreed figure.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from salestarget.core.errors import DomainError
from salestarget.engine.rounding import round_half_up
from salestarget.targets import commitments, grid, workflow
from salestarget.targets import decomposition as D
from salestarget.targets.models import Commitment, TargetCell
from tests.targets.conftest import user
from tests.targets.test_decomposition import RULES, make_plan

pytestmark = pytest.mark.django_db

FLOOR, STRETCH = Decimal("0.9"), Decimal("1.2")


@pytest.fixture
def plan(roles, sales):
    """A draft plan split by the wizard over units, people, months and weeks."""
    c = roles
    plan, scenario = make_plan(c)
    plan.floor_factor, plan.stretch_factor = FLOOR, STRETCH
    plan.save()
    D.do_decompose(c.admin, scenario, D.Rules.from_json(RULES))
    return plan


def cells_of(plan, kind: str, **owner) -> dict:
    found = TargetCell.objects.filter(
        scenario__plan=plan, scenario__is_primary=True, product=None, period_kind=kind, **owner
    )
    return {c.period_start: c for c in found}


def year_of(plan, **owner) -> TargetCell:
    (cell,) = cells_of(plan, plan.period_kind, **owner).values()
    return cell


def months_of(plan, **owner) -> dict:
    return {start: c.target for start, c in cells_of(plan, "month", **owner).items()}


def frozen_message(plan, cell: TargetCell) -> str:
    """What the grid says when a frozen cell is edited: the one rule reconcile must obey too."""
    with pytest.raises(DomainError) as refused:
        grid.do_save_cells(
            user("admin"),
            plan.scenarios.get(is_primary=True),
            [grid.CellChange(id=cell.pk, version=cell.version, field="target", value=cell.target + 1)],
        )
    return str(refused.value)


# --- 1. the freeze ---------------------------------------------------------------------------------


def test_reconcile_is_refused_on_an_approved_or_submitted_part(company, plan, client):
    """Defect 1: director_east accepted 上海组's commitment after approving its part, and the
    team's year target changed while the part was still approved."""
    c = company
    before = year_of(plan, unit=c.sh, person=None)
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=before.target - 2_000_000_00)
    commitments.do_commit(user("rep_sh1"), plan, person=c.rep_sh1, amount=1_000_000_00)
    workflow.do_workflow(user("lead_sh"), plan, "submit", unit=c.sh, comment="上海组")
    found = Commitment.objects.get(unit=c.sh)
    rep = Commitment.objects.get(person=c.rep_sh1)
    message = frozen_message(plan, before)
    # Submitted: neither the team's commitment nor its rep's is reconciled.
    with pytest.raises(DomainError) as refused:
        commitments.do_reconcile(user("director_east"), found, "accept")
    assert str(refused.value) == message
    with pytest.raises(DomainError) as refused:
        commitments.do_reconcile(user("lead_sh"), rep, "split", share=50)
    assert str(refused.value) == message
    # Approved: the same, over the API as the QA tester did.
    workflow.do_workflow(user("director_east"), plan, "approve", unit=c.sh)
    client.force_login(user("director_east"))
    answer = client.post(
        f"/api/v1/targets/commitments/{found.pk}/reconcile",
        {"decision": "accept"},
        content_type="application/json",
    )
    assert answer.status_code == 400, answer.content
    assert year_of(plan, unit=c.sh, person=None).target == before.target
    assert year_of(plan, unit=c.sh, person=None).version == before.version
    found.refresh_from_db()
    assert found.decision == "" and found.result is None


def test_reconcile_goes_through_once_the_part_is_sent_back(company, plan):
    c = company
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=1_000_000_00)
    workflow.do_workflow(user("lead_sh"), plan, "submit", unit=c.sh)
    workflow.do_workflow(user("director_east"), plan, "reject", unit=c.sh, comment="再议")
    done = commitments.do_reconcile(user("director_east"), Commitment.objects.get(unit=c.sh), "accept")
    assert done.target == 1_000_000_00 == year_of(plan, unit=c.sh, person=None).target
    # Another team's frozen part does not stop it: 杭州组 is submitted, 上海组 is not.
    commitments.do_commit(user("rep_sh2"), plan, person=c.rep_sh2, amount=500_000_00)
    workflow.do_workflow(user("director_east"), plan, "submit", unit=c.hz)
    commitments.do_reconcile(user("lead_sh"), Commitment.objects.get(person=c.rep_sh2), "accept")
    assert year_of(plan, person=c.rep_sh2).target == 500_000_00


# --- 2. the plan stays exact -------------------------------------------------------------------------


def assert_follows(plan, old_months: dict, new_total: int, **owner) -> None:
    """The node's months add up to its new total, each within a fen of its exact share of the
    months it had; floor and stretch of the year and every month by the plan's factors."""
    year = year_of(plan, **owner)
    months = cells_of(plan, "month", **owner)
    assert year.target == new_total
    assert set(months) == set(old_months)
    assert sum(m.target for m in months.values()) == new_total
    old_sum = sum(old_months.values())
    for start, cell in months.items():
        exact = Fraction(new_total * old_months[start], old_sum)
        assert abs(cell.target - exact) < 1, (start, cell.target, exact)
    for cell in [year, *months.values()]:
        assert cell.floor == round_half_up(cell.target * FLOOR)
        assert cell.stretch == round_half_up(cell.target * STRETCH)
    weeks = cells_of(plan, "week", **owner)
    assert sum(w.target for w in weeks.values()) == new_total


def test_a_split_on_a_rep_moves_the_reps_months(company, plan):
    """Defect 2 (rep): after a 50% split the rep's 整个期间 was 6,502,667.77 against 各月合计
    7,005,335.53: the year moved alone."""
    c = company
    old_year = year_of(plan, person=c.rep_sh1).target
    old_months = months_of(plan, person=c.rep_sh1)
    assert sum(old_months.values()) == old_year
    commitments.do_commit(user("rep_sh1"), plan, person=c.rep_sh1, amount=old_year - 1_000_000_01)
    done = commitments.do_reconcile(
        user("lead_sh"), Commitment.objects.get(person=c.rep_sh1), "split", share=50
    )
    assert done.target == old_year - 500_000_00  # -500,000.005 rounded half up (away from zero)
    assert_follows(plan, old_months, done.target, person=c.rep_sh1)
    # Recorded like the grid's edits: who, when, why and the value, on every month moved.
    for month in cells_of(plan, "month", person=c.rep_sh1).values():
        last = month.history.order_by("-history_date", "-history_id").first()
        assert last.history_user.username == "lead_sh" and "共创" in last.history_change_reason
        assert last.target == month.target and month.source == "manual"


def test_accepting_a_teams_commitment_moves_the_teams_months_not_its_reps(company, plan):
    """Defect 2 (unit): after accepting, 上海组 was 52,000,000 against its months 54,116,217.
    The team's reps keep their targets (as when the grid changes a unit's total): the grid
    shows their sum against the team's new figure."""
    c = company
    old_year = year_of(plan, unit=c.sh, person=None).target
    old_months = months_of(plan, unit=c.sh, person=None)
    reps = {p.pk: months_of(plan, person=p) for p in (c.rep_sh1, c.rep_sh2)}
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=old_year - 2_116_217_00)
    commitments.do_reconcile(user("director_east"), Commitment.objects.get(unit=c.sh), "accept")
    assert_follows(plan, old_months, old_year - 2_116_217_00, unit=c.sh, person=None)
    assert {p: months_of(plan, person_id=p) for p in reps} == reps
    page = grid.grid(user("director_east"), plan.scenarios.get(is_primary=True), c.sh)
    assert page["mismatch"]["target"]["y"] is True  # the children's sum against the new total


def test_a_locked_month_keeps_its_value(company, plan):
    c = company
    cells = cells_of(plan, "month", unit=c.sh, person=None)
    first = min(cells)
    TargetCell.objects.filter(pk=cells[first].pk).update(locked=True)
    old_year = year_of(plan, unit=c.sh, person=None).target
    old_months = months_of(plan, unit=c.sh, person=None)
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=old_year // 2)
    commitments.do_reconcile(user("director_east"), Commitment.objects.get(unit=c.sh), "accept")
    months = months_of(plan, unit=c.sh, person=None)
    assert months[first] == old_months[first] and sum(months.values()) == old_year // 2
    # A commitment below what the locked months hold cannot be written: nothing changes.
    TargetCell.objects.filter(pk__in=[x.pk for x in cells.values()]).update(locked=True)
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=1)
    with pytest.raises(DomainError):
        commitments.do_reconcile(user("director_east"), Commitment.objects.get(unit=c.sh), "accept")
    assert year_of(plan, unit=c.sh, person=None).target == old_year // 2


def test_a_plan_by_product_line_keeps_its_lines_adding_up(company, sales):
    """Every axis of a plan by product line still adds up for the node: months to the year,
    each month's lines to the month, each line's year to its months."""
    from collections import defaultdict

    from tests.factories import ProductFactory

    c = company
    ProductFactory(code="P2", name="边缘服务器")
    plan, scenario = make_plan(c, by_product=True)
    D.do_decompose(c.admin, scenario, D.Rules.from_json({**RULES, "weeks": False}))
    old_year = year_of(plan, unit=c.sh, person=None).target
    old_months = months_of(plan, unit=c.sh, person=None)
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=old_year * 3 // 4 + 7)
    commitments.do_reconcile(user("director_east"), Commitment.objects.get(unit=c.sh), "accept")
    new = old_year * 3 // 4 + 7
    assert sum(months_of(plan, unit=c.sh, person=None).values()) == new
    lines = TargetCell.objects.filter(scenario=scenario, unit=c.sh, person=None, product__isnull=False)
    by_month, by_line, line_years = defaultdict(int), defaultdict(int), {}
    for cell in lines:
        if cell.period_kind == "month":
            by_month[cell.period_start] += cell.target
            by_line[cell.product_id] += cell.target
        else:
            line_years[cell.product_id] = cell.target
    assert dict(by_month) == months_of(plan, unit=c.sh, person=None) and set(by_month) == set(old_months)
    assert line_years == dict(by_line) and sum(line_years.values()) == new


def test_weeks_add_up_to_each_month_again(company, plan):
    """The node's weeks follow its months: a month holds all of the weeks inside it and parts of
    the two weeks across its ends, so it lies between the sum of the weeks wholly inside it and
    the sum of those touching it, and the weeks add up to the year."""
    c = company
    old_year = year_of(plan, unit=c.sh, person=None).target
    new = old_year + 1_234_567_89
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=new)
    commitments.do_reconcile(user("director_east"), Commitment.objects.get(unit=c.sh), "accept")
    weeks = cells_of(plan, "week", unit=c.sh, person=None)
    assert sum(w.target for w in weeks.values()) == new
    six = dt.timedelta(days=6)
    for start, month in cells_of(plan, "month", unit=c.sh, person=None).items():
        inside = sum(w.target for a, w in weeks.items() if start <= a and a + six <= month.period_end)
        touching = sum(w.target for a, w in weeks.items() if a <= month.period_end and a + six >= start)
        assert inside <= month.target <= touching, start


# --- 3. the figure handed down ------------------------------------------------------------------------


def test_the_kickoff_keeps_the_figure_handed_down(company, plan, client):
    """Defect 3: after reconcile the page showed 上海组 ¥52M / commitment ¥52M / gap ¥0."""
    from salestarget.actuals.summary import shown

    c = company
    handed = year_of(plan, unit=c.sh, person=None).target
    agreed = handed - 2_000_000_00
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=agreed)
    commitments.do_reconcile(user("director_east"), Commitment.objects.get(unit=c.sh), "accept")
    view = commitments.kickoff(user("director_east"), plan, c.east)
    row = next(r for r in view["rows"] if r["kind"] == "unit" and r["id"] == c.sh.pk)
    assert (row["top_down"], row["commitment"], row["gap"], row["result"]) == (
        handed,
        agreed,
        -2_000_000_00,
        agreed,
    )
    assert row["target"] == agreed  # the target as it now stands
    client.force_login(user("director_east"))
    page = client.get(f"/targets/plans/{plan.pk}/commitments/?unit={c.east.pk}").content.decode()
    start = page.index(f'data-testid="kickoff-unit-{c.sh.pk}"')
    text = page[start : page.index("</tr>", start)]
    assert shown(handed, plan.metric, "zh") in text and shown(agreed, plan.metric, "zh") in text
    assert "-" + shown(2_000_000_00, plan.metric, "zh") in text
