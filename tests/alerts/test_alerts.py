"""Issue 16: the right person hears about a lagging target the same day, once, in their language,
within their scope; deliveries are claimed once by several workers, retried when the platform
fails for a while, held to a robot's rate and to quiet hours; reports go out on schedule."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from salestarget.actuals.models import DailyReport
from salestarget.actuals.services import do_import_fact_rows
from salestarget.alerts import delivery, messages, reports
from salestarget.alerts.evaluate import evaluate
from salestarget.alerts.forms import SubscriptionForm
from salestarget.alerts.models import AlertRule, Delivery, Notification, Recipient, Subscription
from salestarget.alerts.services import do_save_channel, do_save_rule, do_subscribe
from salestarget.alerts.tasks import tick
from salestarget.core.money import format_percent
from salestarget.tracking import progress as tracking
from tests.processes import fresh_app
from tests.tracking.test_progress import published, sales_rows  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


@pytest.fixture
def lagging(published):  # noqa: F811
    """July 2024 to the 15th: 陈一 (rep_sh1) has 12,000 of an 80,000 month (at risk), 陈二 is on
    track, 上海组 lags; a lagging rule watches 华东 (EAST)."""
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    for user in (c.rep_sh1.user, c.lead_sh.user, c.director_east.user):
        user.email = f"{user.username}@example.cn"
        user.save()
    c.rule = do_save_rule(
        c.admin, name="进度落后提醒", plan=c.plan, unit=c.east, condition=AlertRule.Condition.LAGGING
    )
    return c


class Server:
    """A real HTTP server on 127.0.0.1 that records what it is sent and answers ``status``."""

    def __init__(self, status: int = 200, body: dict | None = None):
        self.status, self.body, self.seen, self.lock = status, body or {"errcode": 0}, [], threading.Lock()
        self.delay = 0.0  # seconds each answer takes
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.seen.append(payload)
                time.sleep(outer.delay)
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(outer.body).encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def test_the_responsible_person_and_their_managers_hear_once_then_back_on_track(lagging):
    c = lagging
    events = evaluate(c.rule, at("2024-07-15"))
    # Lagging or at risk at mid-July: 陈一 and 周杭 (25,000 of 80,000), 上海组, 杭州组 and 华东;
    # 陈二 is on track.
    lagging_nodes = {f"p{c.rep_sh1.pk}", f"p{c.rep_hz.pk}", f"u{c.sh.pk}", f"u{c.hz.pk}", f"u{c.east.pk}"}
    assert {e.node.key for e in events} == lagging_nodes and all(e.firing for e in events)
    queued = messages.queue(events, at("2024-07-15"))
    to = {(d.user.username, d.via) for d in queued}
    # Each rep hears of their own target; 张上海 (陈一's lead, 上海组's manager) of both; 杭州组
    # has no manager, so 李华东 above it hears of it as its responsible person, as of 华东;
    # 王总 hears of 华东 as its manager's manager. Those with an e-mail address get it by e-mail too.
    assert to == {
        ("rep_sh1", "app"), ("rep_sh1", "email"), ("rep_hz", "app"), ("lead_sh", "app"), ("lead_sh", "email"),
        ("director_east", "app"), ("director_east", "email"), ("vp", "app"),
    }  # fmt: skip
    rep = next(d for d in queued if d.user == c.rep_sh1.user and d.via == "app")
    assert "陈一" in rep.text and "上海组" not in rep.text and "陈二" not in rep.text
    assert rep.title.startswith("【") and "陈一" in rep.title and "[Alert]" not in rep.title
    lead = next(d for d in queued if d.user == c.lead_sh.user and d.via == "app")
    assert "陈一" in lead.text and "上海组" in lead.text and "周杭" not in lead.text
    # Nothing new the same day, however often it is checked.
    assert evaluate(c.rule, at("2024-07-15", 11)) == [] and messages.queue([], at("2024-07-15", 11)) == []
    # A big order puts 陈一 back on track: one more message, "back on track".
    big = {"external_id": "BIG", "date": "2024-07-15", "amount": "60000", "person": c.rep_sh1.code,
           "region": c.shanghai.code, "product": c.product.code}  # fmt: skip
    assert do_import_fact_rows(c.admin, "order", [big], source="erp").ok
    events = evaluate(c.rule, at("2024-07-15", 12))
    # ... and with 陈一, 上海组 and 华东 too.
    assert {(e.node.key, e.firing) for e in events} == {
        (f"p{c.rep_sh1.pk}", False), (f"u{c.sh.pk}", False), (f"u{c.east.pk}", False),
    }  # fmt: skip
    cleared = messages.queue(events, at("2024-07-15", 12))
    assert {d.reason for d in cleared} == {Delivery.Reason.CLEAR}
    assert all("恢复" in d.title or "回到" in d.title or "正常" in d.title for d in cleared)


def test_a_recipient_reads_it_in_their_language(lagging):
    c = lagging
    Recipient.objects.create(user=c.rep_sh1.user, language="en")
    queued = messages.queue(evaluate(c.rule, at("2024-07-15")), at("2024-07-15"))
    mine = next(d for d in queued if d.user == c.rep_sh1.user and d.via == "app")
    theirs = next(d for d in queued if d.user == c.lead_sh.user and d.via == "app")
    assert mine.title.startswith("[Alert]") and "achieved" in mine.text
    assert "达成" in theirs.text


def test_a_group_channel_carries_only_its_audiences_targets(lagging, server):
    c = lagging
    team = do_save_channel(
        c.admin, name="上海组群", kind="wecom", config={"url": server.url + "?key=k"}, unit=c.sh
    )
    south = do_save_channel(c.admin, name="华南群", kind="dingtalk", config={"url": server.url}, unit=c.south)
    rule = do_save_rule(
        c.admin, name="群提醒", plan=c.plan, unit=c.hq, condition=AlertRule.Condition.LAGGING,
        notify_owner=False, notify_managers=False, channels=[team, south],
    )  # fmt: skip
    queued = {d.channel: d for d in messages.queue(evaluate(rule, at("2024-07-15")), at("2024-07-15"))}
    assert set(queued) == {team, south}
    # 上海组's group hears of 陈一 and 上海组, not of 杭州组, 华东 or 华南; 华南's of 黄深 and 深圳组.
    assert "陈一" in queued[team].text and "上海组" in queued[team].text
    assert all(name not in queued[team].text for name in ("周杭", "杭州组", "黄深", "深圳组"))
    assert "黄深" in queued[south].text and all(
        n not in queued[south].text for n in ("陈一", "上海组", "周杭")
    )


def test_quiet_hours_hold_pushes_but_not_the_in_app_list(lagging):
    c = lagging
    AlertRule.objects.filter(pk=c.rule.pk).update(quiet_from=dt.time(21), quiet_until=dt.time(8))
    c.rule.refresh_from_db()
    queued = messages.queue(evaluate(c.rule, at("2024-07-15", 22)), at("2024-07-15", 22))
    assert {d.due_at for d in queued if d.via == "email"} == {at("2024-07-16", 8)}
    assert {d.due_at for d in queued if d.via == "app"} == {at("2024-07-15", 22)}


def test_deliveries_are_sent_retried_and_failed_as_the_platform_answers(lagging, server):
    c = lagging
    channel = do_save_channel(c.admin, name="钉钉群", kind="dingtalk", config={"url": server.url}, unit=None)
    now = at("2024-07-15")
    made = [
        Delivery.objects.create(
            channel=channel,
            via="dingtalk",
            reason="alert",
            key=f"k{i}",
            title=f"t{i}",
            text="x",
            markdown="x",
            due_at=now,
        )  # fmt: skip
        for i in range(25)
    ]
    # DingTalk allows 20 messages a minute per robot: 20 go now, 5 a minute later.
    assert delivery.send_due(now) == 20
    assert Delivery.objects.filter(status="sent").count() == 20
    assert set(Delivery.objects.filter(status="pending").values_list("due_at", flat=True)) == {
        now + dt.timedelta(minutes=1)
    }
    server.status = 500
    assert delivery.send_due(now + dt.timedelta(minutes=2)) == 0
    waiting = Delivery.objects.filter(status="pending")
    assert waiting.count() == 5 and set(waiting.values_list("attempts", flat=True)) == {1}
    server.status, server.body = 200, {"errcode": 310000, "errmsg": "keywords not in content"}
    delivery.send_due(now + dt.timedelta(minutes=10))
    failed = Delivery.objects.filter(status="failed")
    assert failed.count() == 5 and "keywords" in failed.first().response
    assert len(made) == 25


def test_the_in_app_list_gets_its_message_with_the_delivery(lagging):
    c = lagging
    messages.queue(evaluate(c.rule, at("2024-07-15")), at("2024-07-15"))
    Delivery.objects.exclude(via="app").delete()
    delivery.send_due(at("2024-07-15"))
    assert Notification.objects.filter(user=c.rep_sh1.user).count() == 1
    assert not Delivery.objects.exclude(status="sent").exists()


def test_a_daily_report_reminder_after_its_time_then_back_when_filed(lagging):
    c = lagging
    rule = do_save_rule(
        c.admin, name="日报提醒", plan=c.plan, unit=c.sh, condition=AlertRule.Condition.DAILY_REPORT,
        at_time=dt.time(18), notify_managers=False,
    )  # fmt: skip
    assert evaluate(rule, at("2024-07-15", 17)) == []
    DailyReport.objects.create(person=c.rep_sh2, day=dt.date(2024, 7, 15))
    events = evaluate(rule, at("2024-07-15", 18, 30))
    assert {e.node.key for e in events} == {f"p{c.rep_sh1.pk}"}
    DailyReport.objects.create(person=c.rep_sh1, day=dt.date(2024, 7, 15))
    assert [e.firing for e in evaluate(rule, at("2024-07-15", 19))] == [False]


def test_a_daily_report_subscription_goes_out_once_on_working_days(lagging):
    c = lagging
    do_subscribe(c.lead_sh.user, kind="daily", at_time=dt.time(8, 30))
    assert reports.due(at("2024-07-16", 8)) == []
    made = reports.due(at("2024-07-16", 9))
    assert {d.via for d in made} == {"app", "email"}
    report = next(d for d in made if d.via == "app")
    assert "上海组" in report.title and "2024-07-15" in report.title
    assert "陈一" in report.text and "陈二" in report.text
    assert reports.due(at("2024-07-16", 10)) == []
    assert reports.due(at("2024-07-20", 9)) == []  # a Saturday
    assert Subscription.objects.get(user=c.lead_sh.user).last_for == dt.date(2024, 7, 15)


def test_the_daily_report_shows_the_month_against_the_months_time_as_the_dashboard(lagging):
    """QA 2026-12-04: every line of a 日报 said "时间进度 100.0%" and an achievement of the month
    to date's target (101.6%) where the dashboard said 17.7% of the month in 17.4% of its time."""
    c = lagging
    do_subscribe(c.lead_sh.user, kind="daily", at_time=dt.time(8, 30), by_email=False)
    report = reports.due(at("2024-07-16", 9))[0]
    shown = tracking.progress(c.lead_sh.user, c.plan, tracking.unit_node(c.sh), "month", dt.date(2024, 7, 15))
    f = shown["figures"]
    assert f["time_progress"] < 1
    assert f"{format_percent(f['achievement'])}" in report.text
    assert f"{format_percent(f['time_progress'])}" in report.text and "100.0%" not in report.text
    # Its link opens the dashboard on the same node, period and day.
    assert (
        f"unit={c.sh.pk}" in report.link
        and "period=month" in report.link
        and "as_of=2024-07-15" in report.link
    )


def test_a_report_does_not_list_a_child_among_both_the_top_and_the_bottom(lagging):
    """QA 2026-12-04: a team of two was its own top three and bottom three."""
    c = lagging
    do_subscribe(c.lead_sh.user, kind="daily", at_time=dt.time(8, 30), by_email=False)
    text = reports.due(at("2024-07-16", 9))[0].text
    assert text.count("陈二") == 1  # on track: ranked once, not lagging
    assert "排名" in text and "排名靠后" not in text


def test_a_rep_may_not_subscribe_to_the_report_of_a_team_they_cannot_follow(lagging):
    """QA 2026-12-04: a rep was offered their team, saw 已订阅, and was never sent anything."""
    c = lagging
    assert c.sh not in SubscriptionForm(c.rep_sh1.user).fields["unit"].queryset
    assert c.sh in SubscriptionForm(c.lead_sh.user).fields["unit"].queryset
    with pytest.raises(PermissionDenied):
        do_subscribe(c.rep_sh1.user, kind="daily", unit=c.sh, by_email=False)


def test_the_tick_and_the_command_do_the_whole_round(lagging):
    c = lagging
    Delivery.objects.all().delete()
    done = tick(at("2024-07-15"))
    assert done["queued"] >= 6 and done["sent"] >= 3  # the in-app ones; e-mail goes to the test outbox too
    call_command("send_alerts", "--once")
    assert Notification.objects.filter(user=c.lead_sh.user).exists()


def test_two_workers_deliver_each_message_exactly_once(tmp_path, server):
    """Two `salestarget send-alerts --once` processes started together over 200 waiting
    messages: the platform receives each exactly once, and every delivery is marked sent."""
    app = fresh_app(tmp_path)
    server.delay = 0.02  # 200 answers take 4 s: the two workers overlap
    try:
        app.python(
            "import datetime as dt\n"
            "from salestarget.alerts.models import Channel, Delivery\n"
            f"c = Channel.objects.create(name='hook', kind='webhook', config={{'url': '{server.url}', 'secret': 's'}})\n"
            "now = dt.datetime(2024, 7, 15, 2, tzinfo=dt.UTC)\n"
            "Delivery.objects.bulk_create([Delivery(channel=c, via='webhook', reason='alert', key=f'm{i}', "
            "title=f'm{i}', text='x', markdown='x', due_at=now) for i in range(200)])\n"
        )
        workers = [app.start("send-alerts", "--once") for _ in range(2)]
        outputs = [w.communicate(timeout=120)[0] for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs
        titles = [p["title"] for p in server.seen]
        assert sorted(titles) == sorted(f"m{i}" for i in range(200))  # each once, none twice
        sent = app.python(
            "from salestarget.alerts.models import Delivery\n"
            "print(Delivery.objects.filter(status='sent').count())"
        )
        assert sent.split()[0] == "200"
        # Both took part: each printed how many it sent, and together they sent every one.
        counts = [int(re.findall(r"\d+", out)[-1]) for out in outputs]
        assert sum(counts) == 200 and min(counts) > 0, outputs
    finally:
        app.drop()
