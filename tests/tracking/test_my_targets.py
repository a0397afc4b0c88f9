"""Issue 15: the home page opens on where the user stands this month in every plan in force
("everyone must see at a glance where they stand, every morning"): the rep on themselves, a
team lead on the team, the administrator on the company, with the progress API's figures."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from salestarget.actuals.services import do_import_fact_rows
from salestarget.actuals.summary import shown
from salestarget.core.money import format_percent
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import Plan
from salestarget.targets.services import do_create_plan
from tests.tracking.test_new_customers import counted  # noqa: F401 (a fixture)
from tests.tracking.test_progress import published, sales_rows  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

AS_OF = "2024-07-15"
MORNING = dt.datetime(2024, 7, 16, 9, 0)  # the home page counts up to yesterday
STATUS = {"reached": "已达成", "ahead": "领先", "on_track": "正常", "lagging": "落后", "at_risk": "有风险"}


def card(html: str, plan: Plan) -> str:
    found = re.search(rf'data-testid="my-target-{plan.pk}".*?</a>', html, re.S)
    assert found, f"no card for {plan}"
    return found.group(0)


def text_of(card_html: str, test_id: str) -> str:
    found = re.search(rf'data-testid="{test_id}">(.*?)</span>', card_html, re.S)
    assert found, test_id
    return found.group(1).strip()


@pytest.mark.parametrize("username", ["rep_sh1", "lead_sh", "admin"])
def test_the_home_page_opens_on_this_months_targets(published, counted, login, username):  # noqa: F811
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    # A plan still being drafted is nobody's target yet.
    draft = do_create_plan(
        c.admin, metric=Metric.objects.get(code="collections"), period=fiscal_calendar().year(2024)
    )
    plans = {p.metric.code: p for p in Plan.objects.filter(status=Plan.Status.PUBLISHED)}
    assert set(plans) == {"sales", "new_customers"}
    with time_machine.travel(MORNING, tick=False):
        client = login(username)
        html = client.get("/").content.decode()
        api = {
            code: client.get(
                "/api/v1/tracking/progress", {"plan": plan.pk, "period": "month", "as_of": AS_OF}
            ).json()
            for code, plan in plans.items()
        }
    assert 'data-testid="my-targets"' in html and "2024年7月目标进度" in html
    assert f'data-testid="my-target-{draft.pk}"' not in html
    expected_node = {"rep_sh1": c.rep_sh1.pk, "lead_sh": c.sh.pk, "admin": c.hq.pk}[username]
    for code, plan in plans.items():
        assert api[code]["node"]["id"] == expected_node
        f, metric, mine = api[code]["figures"], plan.metric, card(html, plan)
        assert f"?plan={plan.pk}&amp;period=month&amp;as_of={AS_OF}" in mine  # the dashboard behind it
        assert text_of(mine, "my-target-actual") == shown(f["actual"], metric, "zh")
        assert text_of(mine, "my-target-achievement") == format_percent(f["achievement"])
        assert text_of(mine, "my-target-status") == STATUS[f["status"]]
        if f["required_per_day"] is not None:
            assert shown(f["required_per_day"], metric, "zh") in text_of(mine, "my-target-required")
    assert html.index(f"my-target-{plans['sales'].pk}") < html.index(f"my-target-{plans['new_customers'].pk}")


def test_no_cards_without_a_plan_in_force(published, login):  # noqa: F811
    with time_machine.travel(dt.datetime(2025, 3, 2, 9, 0), tick=False):  # the 2024 plan is over
        html = login("rep_sh1").get("/").content.decode()
    assert 'data-testid="my-targets"' not in html
