"""Issue 16's pages and API: rules, channels (a write-only secret, a real test message), the
delivery log, the in-app list and report subscriptions, for a manager, an administrator and a
rep; every write through alerts.services, refused the same way on pages and in the API."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from salestarget.alerts.models import AlertRule, Channel, Delivery, Notification, Subscription
from salestarget.alerts.services import do_save_channel, do_save_rule
from tests.alerts.test_transports import SECRET, robot  # noqa: F401 (a fixture)
from tests.tracking.test_progress import published  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

PAGES = [
    "alerts:index",
    "alerts:channels",
    "alerts:deliveries",
    "alerts:notifications",
    "alerts:subscriptions",
]
WORDS = {
    "alerts:index": "提醒规则",
    "alerts:channels": "通知渠道",
    "alerts:deliveries": "发送记录",
    "alerts:notifications": "站内通知",
    "alerts:subscriptions": "订阅报告",
}
API = "/api/v1/alerts"


def rule_form(c, unit, **extra) -> dict:
    data = {
        "name": "上海组达成率预警",
        "plan": c.plan.pk,
        "unit": unit.pk,
        "period_kind": "month",
        "condition": "behind_time",
        "threshold": "80",
        "notify_owner": "on",
        "notify_managers": "on",
        "working_days_only": "on",
        "active": "on",
    }
    return data | extra


def channel_form(**extra) -> dict:
    data = {
        "kind": "dingtalk",
        "name": "上海组钉钉群",
        "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
    }
    return data | {"language": "zh-hans", "active": "on"} | extra


@pytest.mark.parametrize("username", ["admin", "lead_sh"])
@pytest.mark.parametrize("name", PAGES)
def test_pages_answer_in_chinese(login, published, username, name):  # noqa: F811
    client = login(username)
    page = client.get(reverse(name))
    assert page.status_code == 200
    html = page.content.decode()
    assert WORDS[name] in html and "提醒" in html
    assert 'class="bi bi-bell' in html  # the navbar's entry


def test_a_manager_creates_a_rule_for_their_team(login, published):  # noqa: F811
    c = published
    client = login("lead_sh")
    page = client.get(reverse("alerts:index"))
    assert 'data-testid="new-rule"' in page.content.decode()
    answer = client.post(reverse("alerts:index"), rule_form(c, c.sh))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    rule = AlertRule.objects.get()
    assert (rule.unit, rule.condition, rule.threshold, rule.created_by) == (
        c.sh,
        "behind_time",
        80,
        c.lead_sh.user,
    )
    listed = client.get(reverse("alerts:index")).content.decode()
    assert "上海组达成率预警" in listed and "达成率低于时间进度的 80%" in listed
    edited = client.post(
        reverse("alerts:rule", args=[rule.pk]), rule_form(c, c.sh, threshold="70", active="")
    )
    assert edited.status_code == 302
    rule.refresh_from_db()
    assert (rule.threshold, rule.active) == (70, False)
    assert client.post(reverse("alerts:rule_delete", args=[rule.pk])).status_code == 302
    assert not AlertRule.objects.exists()


def test_a_condition_without_its_threshold_is_a_form_error(login, published):  # noqa: F811
    c = published
    page = login("lead_sh").post(reverse("alerts:index"), rule_form(c, c.sh, threshold=""))
    assert page.status_code == 200 and "这个条件需要" in page.content.decode()
    assert not AlertRule.objects.exists()


def test_a_manager_cannot_create_a_rule_for_another_region(login, published):  # noqa: F811
    c = published
    client = login("lead_sh")
    page = client.post(reverse("alerts:index"), rule_form(c, c.sz))
    assert page.status_code in (200, 403)
    assert not AlertRule.objects.exists()
    # Nor change another team's rule.
    other = do_save_rule(c.admin, name="深圳组", plan=c.plan, unit=c.sz, condition="lagging")
    assert client.get(reverse("alerts:rule", args=[other.pk])).status_code == 404
    assert client.post(reverse("alerts:rule_delete", args=[other.pk])).status_code == 404
    assert AlertRule.objects.filter(pk=other.pk).exists()


def test_a_rep_manages_nothing_but_reads_their_notifications(login, published):  # noqa: F811
    c = published
    do_save_rule(c.admin, name="上海组", plan=c.plan, unit=c.sh, condition="lagging")
    client = login("rep_sh1")
    page = client.get(reverse("alerts:index")).content.decode()
    assert 'data-testid="new-rule"' not in page and 'data-testid="rules-for-reps"' in page
    assert "上海组" not in page.split('data-testid="rules-for-reps"')[1]  # no rules listed
    assert client.post(reverse("alerts:index"), rule_form(c, c.sh)).status_code == 403
    assert client.post(reverse("alerts:channels"), channel_form(unit=c.sh.pk)).status_code == 403
    assert not AlertRule.objects.filter(name="上海组达成率预警").exists() and not Channel.objects.exists()
    mine = Notification.objects.create(
        user=c.rep_sh1.user, title="【提醒】陈一：进度落后", text="详情", link="/tracking/"
    )
    Notification.objects.create(user=c.rep_sh2.user, title="陈二的通知", text="…")
    page = client.get(reverse("alerts:notifications")).content.decode()
    assert "【提醒】陈一：进度落后" in page and "陈二的通知" not in page
    assert 'data-testid="nav-unread"' in page and "全部标为已读" in page
    assert client.post(reverse("alerts:mark_read")).status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert 'data-testid="nav-unread"' not in client.get(reverse("alerts:notifications")).content.decode()


def test_the_channel_page_never_shows_the_stored_secret(login, published):  # noqa: F811
    c = published
    client = login("lead_sh")
    secret = "SEC-0123456789abcdef-上海"
    answer = client.post(reverse("alerts:channels"), channel_form(unit=c.sh.pk, secret=secret))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    channel = Channel.objects.get()
    assert channel.config["secret"] == secret and channel.unit == c.sh
    listed = client.get(reverse("alerts:channels")).content.decode()
    edit = client.get(reverse("alerts:channel", args=[channel.pk])).content.decode()
    for html in (listed, edit):
        assert secret not in html and "SEC-0123" not in html
    assert "已设置" in edit and 'data-testid="secret-set"' in edit
    assert "access_token=t" not in listed  # the list shows the host only
    # Left empty, the secret stays; "remove" removes it.
    kept = client.post(reverse("alerts:channel", args=[channel.pk]), channel_form(unit=c.sh.pk, name="改名"))
    assert kept.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.config["secret"]) == ("改名", secret)
    client.post(reverse("alerts:channel", args=[channel.pk]), channel_form(unit=c.sh.pk, clear_secret="on"))
    channel.refresh_from_db()
    assert "secret" not in channel.config


def test_a_manager_cannot_set_up_a_company_channel(login, published):  # noqa: F811
    c = published
    page = login("lead_sh").post(reverse("alerts:channels"), channel_form(unit=""))
    assert page.status_code == 200 and not Channel.objects.exists()
    page = login("lead_sh").post(reverse("alerts:channels"), channel_form(unit=c.sz.pk))
    assert page.status_code == 200 and not Channel.objects.exists()


def test_an_email_channel_takes_addresses(login, published):  # noqa: F811
    client = login("admin")
    bad = client.post(
        reverse("alerts:channels"), channel_form(kind="email", url="", to="sales@example.cn, 不是地址")
    )
    assert "不是电子邮件地址：不是地址" in bad.content.decode() and not Channel.objects.exists()
    client.post(
        reverse("alerts:channels"), channel_form(kind="email", url="", to="a@example.cn\nb@example.cn")
    )
    assert Channel.objects.get().config == {"to": ["a@example.cn", "b@example.cn"]}


def test_the_test_button_sends_through_a_real_server(login, published, robot):  # noqa: F811
    c = published
    bot, url = robot("dingtalk")
    channel = do_save_channel(
        c.lead_sh.user, name="上海组钉钉群", kind="dingtalk", config={"url": url, "secret": SECRET}, unit=c.sh
    )
    client = login("lead_sh")
    page = client.post(reverse("alerts:channel_test", args=[channel.pk]), follow=True).content.decode()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason, delivery.attempts) == ("sent", "test", 1)
    assert delivery.sent_at is not None and '"errcode": 0' in delivery.response
    assert "测试消息已发送" in page
    assert bot.requests[0].json["markdown"]["title"] == "SalesTarget 测试消息"
    log = client.get(reverse("alerts:deliveries"), {"status": "sent"}).content.decode()
    assert f'data-testid="delivery-{delivery.pk}"' in log and "已发送" in log
    assert (
        f'data-testid="delivery-{delivery.pk}"'
        not in client.get(reverse("alerts:deliveries"), {"status": "failed"}).content.decode()
    )
    # A refused signature is a failure, shown with the platform's answer.
    bot.forced = (200, {"errcode": 310000, "errmsg": "sign not match"})
    page = client.post(reverse("alerts:channel_test", args=[channel.pk]), follow=True).content.decode()
    assert Delivery.objects.filter(status="failed").count() == 1
    assert (
        "sign not match" in page and "测试消息失败：" in page and "（失败）" not in page
    )  # QA: "failed (failed)"
    # Another region's manager may not use it.
    assert login("lead_sz").post(reverse("alerts:channel_test", args=[channel.pk])).status_code == 404


def test_subscriptions_and_message_settings(login, published):  # noqa: F811
    c = published
    client = login("rep_sh1")
    page = client.post(
        reverse("alerts:subscriptions"),
        {
            "form": "subscribe",
            "kind": "daily",
            "daily-in_app": "on",
            "daily-at_time": "09:00",
            "daily-active": "on",
        },
    )
    assert page.status_code == 302
    s = Subscription.objects.get()
    assert (s.user, s.kind, s.in_app, s.by_email, s.at_time.hour) == (c.rep_sh1.user, "daily", True, False, 9)
    page = client.get(reverse("alerts:subscriptions")).content.decode()
    assert "日报" in page and "周报" in page and "月报" in page and "已订阅" in page
    client.post(reverse("alerts:subscriptions"), {"form": "subscribe", "kind": "daily", "unsubscribe": "1"})
    assert not Subscription.objects.exists()
    bad = client.post(
        reverse("alerts:subscriptions"), {"form": "recipient", "language": "en", "mobile": "abc"}
    )
    assert "不是手机号" in bad.content.decode()
    client.post(
        reverse("alerts:subscriptions"), {"form": "recipient", "language": "en", "mobile": "13800001111"}
    )
    assert (c.rep_sh1.user.recipient.language, c.rep_sh1.user.recipient.mobile) == ("en", "13800001111")


# --------------------------------------------------------------------------- API


def call(client, method: str, path: str, body=None):
    kwargs = {"content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(f"{API}{path}", json.dumps(body) if body is not None else None, **kwargs)


def test_rules_over_the_api(client, published):  # noqa: F811
    c = published
    client.force_login(c.lead_sh.user)
    body = {
        "name": "上海组落后",
        "plan": c.plan.pk,
        "unit": c.sh.pk,
        "condition": "lagging",
        "quiet_from": "22:00",
    }
    assert call(client, "post", "/rules", body).status_code == 400  # one end of the quiet hours
    body["quiet_until"] = "08:00"
    made = call(client, "post", "/rules", body)
    assert made.status_code == 200, made.content
    rule = made.json()
    assert (rule["unit"], rule["condition"], rule["quiet_from"], rule["quiet_until"]) == (
        c.sh.pk,
        "lagging",
        "22:00",
        "08:00",
    )
    assert call(client, "get", f"/rules/{rule['id']}").json() == rule
    assert [r["id"] for r in call(client, "get", "/rules").json()["items"]] == [rule["id"]]
    changed = call(client, "put", f"/rules/{rule['id']}", body | {"condition": "chance", "threshold": 50})
    assert changed.status_code == 200 and changed.json()["threshold"] == 50
    # 400: what the caller can fix; 422: not the API's shape; 403 and 404: not theirs.
    assert call(client, "put", f"/rules/{rule['id']}", body | {"condition": "gap"}).status_code == 400
    assert call(client, "post", "/rules", body | {"condition": "sometimes"}).status_code == 422
    assert call(client, "post", "/rules", body | {"quiet_from": "25:00"}).status_code == 422
    assert call(client, "post", "/rules", body | {"unit": c.sz.pk}).status_code == 404
    other = do_save_rule(c.admin, name="深圳组", plan=c.plan, unit=c.sz, condition="lagging")
    assert call(client, "get", f"/rules/{other.pk}").status_code == 404
    assert call(client, "delete", f"/rules/{other.pk}").status_code == 404
    client.force_login(c.rep_sh1.user)
    refused = call(client, "post", "/rules", body)
    assert refused.status_code == 403 and refused.json()["detail"]
    assert call(client, "get", "/rules").json()["items"] == []
    client.force_login(c.lead_sh.user)
    assert call(client, "delete", f"/rules/{rule['id']}").json() == {"id": rule["id"], "deleted": True}
    assert list(AlertRule.objects.values_list("name", flat=True)) == ["深圳组"]


def test_channels_over_the_api_never_return_the_secret(client, published, robot):  # noqa: F811
    c = published
    bot, url = robot("webhook")
    client.force_login(c.lead_sh.user)
    body = {"name": "上海组 webhook", "kind": "webhook", "url": url, "secret": SECRET, "unit": c.sh.pk}
    made = call(client, "post", "/channels", body)
    assert made.status_code == 200, made.content
    out = made.json()
    assert out["has_secret"] is True and "secret" not in out and SECRET not in made.content.decode()
    assert out["url"] == url
    got = call(client, "get", f"/channels/{out['id']}")
    assert got.json() == out and SECRET not in got.content.decode()
    assert SECRET not in call(client, "get", "/channels").content.decode()
    tested = call(client, "post", f"/channels/{out['id']}/test")
    assert tested.status_code == 200 and tested.json()["status"] == "sent", tested.content
    assert bot.requests[0].headers["X-SalesTarget-Signature"].startswith("sha256=")
    # PUT without a secret keeps it; "" removes it.
    kept = call(client, "put", f"/channels/{out['id']}", body | {"secret": None, "name": "改名"})
    assert kept.json()["has_secret"] is True and Channel.objects.get().config["secret"] == SECRET
    removed = call(client, "put", f"/channels/{out['id']}", body | {"secret": ""})
    assert removed.json()["has_secret"] is False
    assert call(client, "post", "/channels", body | {"url": "ftp://x"}).status_code == 400
    assert call(client, "post", "/channels", body | {"unit": None}).status_code == 403  # the whole company
    assert call(client, "post", "/channels", body | {"kind": "fax"}).status_code == 422
    client.force_login(c.lead_sz.user)
    assert call(client, "get", f"/channels/{out['id']}").status_code == 404
    assert call(client, "post", f"/channels/{out['id']}/test").status_code == 404
    client.force_login(c.rep_sh1.user)
    assert call(client, "post", "/channels", body).status_code == 403
    client.force_login(c.lead_sh.user)
    assert call(client, "delete", f"/channels/{out['id']}").json() == {"id": out["id"], "deleted": True}
    assert not Channel.objects.exists()


def test_deliveries_notifications_and_subscriptions_over_the_api(client, published, robot):  # noqa: F811
    c = published
    bot, url = robot("dingtalk")
    channel = do_save_channel(
        c.admin, name="华东群", kind="dingtalk", config={"url": url, "secret": SECRET}, unit=c.east
    )
    client.force_login(c.admin)
    call(client, "post", f"/channels/{channel.pk}/test")
    log = call(client, "get", "/deliveries?status=sent").json()
    assert log["count"] == 1 and log["items"][0]["channel"] == channel.pk
    assert call(client, "get", "/deliveries?status=failed").json()["count"] == 0
    assert call(client, "get", "/deliveries?status=lost").status_code == 422
    client.force_login(c.lead_sz.user)
    assert call(client, "get", "/deliveries").json()["count"] == 0  # not their region's
    client.force_login(c.rep_sh1.user)
    first = Notification.objects.create(user=c.rep_sh1.user, title="一", text="…")
    Notification.objects.create(user=c.rep_sh1.user, title="二", text="…")
    Notification.objects.create(user=c.rep_sh2.user, title="别人的", text="…")
    assert call(client, "get", "/notifications").json()["count"] == 2
    assert call(client, "post", "/notifications/read", {"ids": [first.pk]}).json() == {"marked": 1}
    assert [n["title"] for n in call(client, "get", "/notifications?unread=true").json()["items"]] == ["二"]
    assert call(client, "post", "/notifications/read", {}).json() == {"marked": 1}
    # Subscriptions: e-mail needs an address; in the app does not.
    assert call(client, "put", "/subscriptions", {"kind": "weekly"}).status_code == 400
    put = call(client, "put", "/subscriptions", {"kind": "weekly", "by_email": False, "at_time": "07:45"})
    assert put.status_code == 200, put.content
    assert call(client, "get", "/subscriptions").json() == [
        {
            "kind": "weekly",
            "unit": None,
            "plan": None,
            "by_email": False,
            "in_app": True,
            "at_time": "07:45",
            "active": True,
        }
    ]
    assert (
        call(
            client, "put", "/subscriptions", {"kind": "daily", "by_email": False, "unit": c.sz.pk}
        ).status_code
        == 404
    )
    assert call(client, "delete", "/subscriptions/weekly").json() == {"kind": "weekly", "subscribed": False}
    assert call(client, "get", "/subscriptions").json() == []
