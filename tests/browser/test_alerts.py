"""Issue 16 in a browser: an administrator sets up a DingTalk group robot (a real server on
127.0.0.1 checks its signature), sends a test message, and adds a rule that tells the group; the
rules, the delivery log and the notifications, zh, at 1440 and 390 px, fit the screen."""

from __future__ import annotations

import pytest

from salestarget.alerts.models import AlertRule, Channel, Delivery, Notification
from tests.alerts.test_transports import SECRET, robot  # noqa: F401 (a fixture)
from tests.browser.conftest import screenshot
from tests.tracking.test_progress import published  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"1440": {"width": 1440, "height": 900}, "390": {"width": 390, "height": 844}}


def test_an_admin_sets_up_a_channel_and_a_rule(page_for, live_server, published, robot):  # noqa: F811
    c = published
    bot, url = robot("dingtalk")
    page = page_for("admin", c.password)
    page.set_viewport_size(SIZES["1440"])
    page.goto(f"{live_server.url}/alerts/channels/")
    form = page.get_by_test_id("new-channel")
    form.locator("#id_kind").select_option("dingtalk")
    assert form.locator("#id_to").is_hidden() and form.locator("#id_url").is_visible()
    form.locator("#id_name").fill("华东销售群")
    form.locator("#id_url").fill(url)
    form.locator("#id_secret").fill(SECRET)
    form.locator("#id_unit").select_option(str(c.east.pk))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    channel = Channel.objects.get()
    assert channel.config["secret"] == SECRET and SECRET not in page.content()
    with page.expect_navigation():
        page.get_by_test_id(f"test-channel-{channel.pk}").click()
    assert "测试消息已发送" in page.locator(".alert-success").inner_text()
    assert len(bot.requests) == 1 and Delivery.objects.get().status == "sent"

    page.goto(f"{live_server.url}/alerts/")
    form = page.get_by_test_id("new-rule")
    form.locator("#id_name").fill("华东达成率预警")
    form.locator("#id_plan").select_option(str(c.plan.pk))
    form.locator("#id_unit").select_option(str(c.east.pk))
    form.locator("#id_condition").select_option("lagging")
    assert form.locator("#id_threshold").is_hidden()
    form.locator("#id_condition").select_option("behind_time")
    assert form.locator("#id_threshold").is_visible() and form.locator("#id_at_time").is_hidden()
    form.locator("#id_threshold").fill("80")
    form.get_by_label("华东销售群").check()
    form.locator("#id_quiet_from").fill("22:00")
    form.locator("#id_quiet_until").fill("08:00")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    rule = AlertRule.objects.get()
    assert (rule.unit, rule.threshold, list(rule.channels.all())) == (c.east, 80, [channel])
    row = page.get_by_test_id(f"rule-{rule.pk}")
    assert "达成率低于时间进度的 80%" in row.inner_text() and "华东销售群" in row.inner_text()

    # Something for the other pages to show: a failed try with a long answer, two notifications.
    Delivery.objects.create(
        channel=channel, via="dingtalk", rule=rule, reason="alert", key="shown-1", status="failed",
        title="【提醒】华东达成率预警：2 个需关注，0 个已恢复", text="…", markdown="…", attempts=1,
        due_at=rule.created_at, response='{"errcode":310000,"errmsg":"keywords not in content, more: ' + "x" * 200 + '"}',
    )  # fmt: skip
    Notification.objects.create(
        user=c.admin, title="【提醒】陈一：华东达成率预警",
        text="陈一：达成率 15.0%（1.20万 / 8.00万），时间进度 50.0%；预计完成 2.40万，达成概率 3%",
        link=f"{live_server.url}/tracking/",
    )  # fmt: skip
    Notification.objects.create(
        user=c.admin, title="日报 · 示例公司 · 2024-07-14", text="…", link="/tracking/"
    )
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        pages = ["channels", "subscriptions", "deliveries", "notifications"]
        for name, path in [("rules", ""), *((p, f"{p}/") for p in pages)]:
            # goto waits for the load event: these pages are rendered on the server and fetch
            # nothing afterwards ("networkidle" once timed out in CI with nothing pending).
            page.goto(f"{live_server.url}/alerts/{path}")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], (name, size)
            screenshot(page, f"issue16-alerts-{name}-{size}")
    assert page.locator("[data-testid=notifications] [data-unread]").count() == 2
    assert page.get_by_test_id("delivery-filter").count() == 0  # (on the notifications page)
    with page.expect_navigation():
        page.get_by_test_id("mark-all-read").click()
    assert page.locator("[data-testid=notifications] [data-unread]").count() == 0
    assert not Notification.objects.filter(user=c.admin, read_at__isnull=True).exists()
