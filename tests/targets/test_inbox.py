"""Issue 14, the inbox (待办): what awaits my decision, my open requests, and what changed in my
targets and why, each offered only to whom the action itself would allow."""

from __future__ import annotations

import pytest

from salestarget.targets import changes, commitments, workflow
from salestarget.targets.inbox import inbox
from tests.targets.conftest import user
from tests.targets.test_change_requests import published, raise_rep
from tests.targets.test_workflow import make_plan

pytestmark = pytest.mark.django_db


def titles(username, part="awaiting"):
    return [i["title"] for i in inbox(user(username))[part]]


def test_parts_plans_and_commitments_reach_whoever_decides_them(roles):
    c = roles
    plan = make_plan(c)
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=1)
    assert titles("director_east") == ["调和上海组的承诺"]
    assert titles("lead_sh") == [] and titles("rep_sh1") == []
    workflow.do_workflow(user("lead_sh"), plan, "submit", unit=c.sh)
    assert "批准上海组的部分" in titles("director_east") and "批准上海组的部分" in titles("vp")
    assert titles("lead_sh") == [] and titles("lead_sz") == []
    workflow.do_workflow(user("director_east"), plan, "reject", unit=c.sh, comment="再议")
    news = inbox(user("lead_sh"))["news"]
    assert news[0]["comment"] == "再议" and news[0]["by"] == "director_east"
    workflow.do_workflow(user("vp"), plan, "submit")
    assert "批准计划" in titles("ops") and "批准计划" not in titles("vp")


def test_change_requests_reach_the_deciders_and_the_rep_hears_of_the_change(roles):
    c = roles
    plan = published(c)
    asked = raise_rep(c, "lead_sh", 1_00, reason="大单提前")
    assert [i["title"] for i in inbox(user("lead_sh"))["mine"]] == [f"#{asked.pk} 大单提前"]
    assert any(f"#{asked.pk}" in t for t in titles("director_east"))
    assert not any(f"#{asked.pk}" in t for t in titles("lead_sz"))
    changes.do_decide_change(user("director_east"), asked, "accept")
    assert titles("director_east") == [] or not any(f"#{asked.pk}" in t for t in titles("director_east"))
    news = inbox(user("rep_sh1"))["news"]
    assert any(f"#{asked.pk}" in n["title"] and n["comment"] == "大单提前" for n in news)
    assert not any(f"#{asked.pk}" in n["title"] for n in inbox(user("rep_sz"))["news"])
    assert plan.pk == asked.plan_id


def test_the_inbox_page_and_api(client, roles):
    c = roles
    plan = make_plan(c)
    workflow.do_workflow(user("lead_sh"), plan, "submit", unit=c.sh)
    client.force_login(user("director_east"))
    page = client.get("/targets/inbox/").content.decode()
    assert "待办" in page and "批准上海组的部分" in page
    assert client.get("/api/v1/targets/inbox").json()["awaiting"][0]["plan_id"] == plan.pk
