"""Defects QA found on the demo's published plan: the chance of the company total followed the
viewer's own region, the commitments page offered "Up" above the viewer's scope, the history
of a plan created already published said "nothing submitted yet" and "Set by" had no value,
and the recommendation chart printed its close mark lines' labels over each other."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.utils import timezone
from django.utils.translation import gettext

from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import RoleAssignment
from salestarget.targets import presenters
from salestarget.targets.models import Plan, Scenario, TargetCell
from salestarget.targets.scope import resolve_period, resolve_scope
from salestarget.targets.services import do_create_plan, do_set_plan_total
from salestarget.targets.smart import chance_not_shown
from tests.factories import UserFactory
from tests.targets.conftest import user

pytestmark = pytest.mark.django_db

CHANCE = re.compile(r'data-testid="plan-chance">([^<]*)<')
SMART_A = re.compile(r'可达成</span> · <span class="small">([^<]*)</span>')


def created_as(status: str) -> str:
    # New strings: their zh-Hans translations go into the catalogue separately.
    return gettext("Created as “%(status)s”: no submission or approval was recorded.") % {
        "status": Plan.Status(status).label
    }


def sales_metric() -> Metric:
    return Metric.objects.get(code="sales")


@pytest.fixture
def next_year_plan(company):
    plan = do_create_plan(
        company.admin, metric=sales_metric(), period=fiscal_calendar().year(timezone.localdate().year + 1)
    )
    do_set_plan_total(company.admin, plan, method="recommendation", chance=80)
    return plan


def demo_plan(company) -> Plan:
    """A plan as the demo makes it: created published, with its cells, no workflow events and
    no record of how its total was set."""
    plan = Plan.objects.create(
        name=f"{timezone.localdate().year}年度销售目标",
        fiscal_year=timezone.localdate().year,
        metric=sales_metric(),
        status=Plan.Status.PUBLISHED,
        created_by=company.vp.user,
    )
    scenario = Scenario.objects.create(plan=plan, name="基准方案", is_primary=True)
    for unit, amount in ((company.hq, 273_000_000_00), (company.east, 150_000_000_00)):
        TargetCell.objects.create(
            scenario=scenario, unit=unit, period_kind="year", period_start=plan.period_start, target=amount
        )
    return plan


def test_the_chance_of_the_company_total_does_not_follow_the_viewer(company, login, sales, next_year_plan):
    """Before: director_east (who sees 华东 only) got the chance of the company's total computed
    from 华东's history alone, a different number from the admin's on the card and in SMART."""
    url = f"/targets/plans/{next_year_plan.pk}/"
    admin_page = login("admin").get(url).content.decode()
    shown = CHANCE.search(admin_page).group(1).strip()
    assert shown.endswith("%") and shown in SMART_A.search(admin_page).group(1)
    # Whoever sees the whole company's history gets the same figure: the company's manager and
    # a company-wide viewer (finance).
    finance = UserFactory(username="finance")
    RoleAssignment.objects.create(user=finance, role="viewer", unit=None)
    for name in ("vp", "finance"):
        page = login(name).get(url).content.decode()
        assert CHANCE.search(page).group(1).strip() == shown, name
    # A region's manager sees the company total but not the other regions' history the chance
    # rests on: no chance at all (never another number), and one line saying why.
    for name in ("director_east", "lead_sh"):
        page = login(name).get(url).content.decode()
        assert 'data-testid="plan-total"' in page
        found = CHANCE.search(page)
        assert found is None or found.group(1).strip() == shown, name
        line = SMART_A.search(page).group(1)
        assert "%" not in line, line
        assert 'data-testid="plan-chance-hidden"' in page
        assert line == chance_not_shown()


def test_no_up_link_above_the_viewers_scope(company, login):
    """Before: director_east's commitments page linked "上一级" to the company, a 404 for them."""
    plan = demo_plan(company)
    url = f"/targets/plans/{plan.pk}/commitments/"
    director = login("director_east")
    page = director.get(url).content.decode()
    assert "华东" in page
    assert f"?unit={company.hq.pk}" not in page and "上一级" not in page
    assert director.get(f"{url}?unit={company.hq.pk}").status_code == 404
    # Below the top of their scope the link is there, and it opens.
    page = director.get(f"{url}?unit={company.sh.pk}").content.decode()
    assert f'href="?unit={company.east.pk}">上一级' in page
    # The company's manager goes up from a region to the company; at the company, no link.
    vp = login("vp")
    page = vp.get(f"{url}?unit={company.east.pk}").content.decode()
    assert f'href="?unit={company.hq.pk}">上一级' in page
    assert vp.get(f"{url}?unit={company.hq.pk}").status_code == 200
    assert "上一级" not in vp.get(f"{url}?unit={company.hq.pk}").content.decode()


def test_the_history_of_a_plan_created_published_tells_the_truth(company, login):
    """Before: "尚未提交" (nothing submitted yet) under a published plan whose steps all show done,
    and "设定方式:" followed by nothing."""
    plan = demo_plan(company)
    for name in ("director_east", "admin"):
        page = login(name).get(f"/targets/plans/{plan.pk}/").content.decode()
        assert "尚未提交" not in page, name
        assert created_as(Plan.Status.PUBLISHED) in page, name
        assert not re.search(r"设定方式: *(<|\(|$)", page), name
    # A draft with no steps yet has indeed nothing submitted; a total set by a method names it.
    draft = do_create_plan(
        company.admin, metric=sales_metric(), period=fiscal_calendar().year(timezone.localdate().year + 1)
    )
    do_set_plan_total(company.admin, draft, method="typed", amount=100_000_000_00)
    page = login("director_east").get(f"/targets/plans/{draft.pk}/").content.decode()
    assert "尚未提交" in page and 'data-testid="plan-history-unrecorded"' not in page
    assert "设定方式: 直接填写" in page


def test_a_plan_moved_on_without_recorded_steps_says_so(company, login):
    plan = do_create_plan(
        company.admin, metric=sales_metric(), period=fiscal_calendar().year(timezone.localdate().year + 1)
    )
    do_set_plan_total(company.admin, plan, method="typed", amount=100_000_000_00)
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.APPROVED)  # no workflow, no history
    page = login("director_east").get(f"/targets/plans/{plan.pk}/").content.decode()
    assert "尚未提交" not in page
    assert (
        gettext("Became “%(status)s” without a recorded submission or approval.")
        % {"status": Plan.Status.APPROVED.label}
        in page
    )


def test_close_mark_lines_get_distinct_label_positions(sales):
    """Before: every mark line's label sat at the top end of its line, so "推荐" and
    "2025年 + 10%" printed over each other (and over the curve) when the two were close."""
    admin = user("admin")
    from tests.targets.test_recommend import recommend

    rec = recommend(admin, resolve_scope(admin), resolve_period(fiscal_calendar()), 0.8, bottom_up=False)
    # Last year + 10% a hair above the recommendation, the current target a hair below.
    close = dataclasses.replace(
        rec, last_year_actual=round(rec.recommended / 1.1) + 1000, existing_target=rec.recommended - 1000
    )
    assert abs(close.rule_of_thumb - close.recommended) < 0.01 * close.recommended
    marks = presenters.charts(close)["probability"]["series"][0]["markLine"]["data"]
    assert len(marks) == 3
    positions = [m["label"]["position"] for m in marks]
    assert len(set(positions)) == 3, positions
    # Each label stays beside its own line, inside the chart; formatters are the names.
    assert {m["label"]["formatter"] for m in marks} == {"推荐", "现有目标", close.rule_of_thumb_label}
    assert all(p.startswith("inside") for p in positions)
    # Two marks alone (no current target) also differ.
    two = dataclasses.replace(close, existing_target=None)
    marks = presenters.charts(two)["probability"]["series"][0]["markLine"]["data"]
    assert len({m["label"]["position"] for m in marks}) == 2
