"""Transports against real servers on 127.0.0.1 that check requests the way each platform does.

The robot stand-ins recompute DingTalk's and Feishu's signatures from their documented recipes
(independently of the code under test), check WeCom's key and byte limits, and verify the
generic webhook's HMAC over the raw body; the e-mail tests talk SMTP to aiosmtpd.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import get_connection
from django.utils import translation

from salestarget.alerts.transports import TRANSPORTS, DeliveryError, Message, build
from salestarget.alerts.transports.base import fit

SECRET = "SEC-对的-secret"
WECOM_KEY = "693a91f6-7xxx"
LINK = "https://salestarget.example.com/tracking/units/7/"
MOBILES = ("13800001111", "13900002222")
MESSAGE = Message(
    title="华东区 4 月达成率 62%",
    text="华东区 4 月达成率 62%，低于预警线 70%。",
    markdown="### 华东区 4 月达成率 62%\n\n- 目标：¥1,200,000\n- 实际：¥744,000\n\n" + LINK,
    html="<p>华东区 4 月达成率 <b>62%</b></p>",
    link=LINK,
    at_mobiles=MOBILES,
)


@dataclass
class Received:
    path: str
    headers: dict
    raw: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.raw.decode("utf-8"))  # strict: fails on invalid UTF-8

    @property
    def query(self) -> dict:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}


def dingtalk_reply(req: Received) -> dict:
    q = req.query
    if q.get("access_token") != "tok":
        return {"errcode": 300001, "errmsg": "token is not exist"}
    if "timestamp" not in q or abs(time.time() * 1000 - int(q["timestamp"])) > 3_600_000:
        return {"errcode": 310000, "errmsg": "invalid timestamp"}
    mac = hmac.new(SECRET.encode(), f"{q['timestamp']}\n{SECRET}".encode(), hashlib.sha256)
    raw_sign = dict(pair.split("=", 1) for pair in urlsplit(req.path).query.split("&")).get("sign", "")
    if set(raw_sign) & set("+/=") or base64.b64encode(mac.digest()).decode() != q.get("sign"):
        return {"errcode": 310000, "errmsg": "sign not match"}
    if len(req.raw) > 20_000:
        return {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}
    return {"errcode": 0, "errmsg": "ok"}


def wecom_reply(req: Received) -> dict:
    if req.query.get("key") != WECOM_KEY:
        return {"errcode": 93000, "errmsg": "invalid webhook url"}
    body = req.json
    if body["msgtype"] == "markdown" and len(body["markdown"]["content"].encode()) > 4096:
        return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
    if body["msgtype"] == "text" and len(body["text"]["content"].encode()) > 2048:
        return {"errcode": 40058, "errmsg": "text.content exceed max length 2048"}
    return {"errcode": 0, "errmsg": "ok"}


def feishu_reply(req: Received) -> dict:
    body = req.json
    timestamp = body.get("timestamp", "0")
    mac = hmac.new(f"{timestamp}\n{SECRET}".encode(), b"", hashlib.sha256)
    if abs(time.time() - int(timestamp)) > 3600 or base64.b64encode(mac.digest()).decode() != body.get(
        "sign"
    ):
        msg = "sign match fail or timestamp is not within one hour from current time"
        return {"code": 19021, "data": {}, "msg": msg}
    return {"code": 0, "data": {}, "msg": "success"}


def webhook_reply(req: Received) -> tuple[int, dict]:
    timestamp = req.headers.get("X-SalesTarget-Timestamp", "0")
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + req.raw, hashlib.sha256).hexdigest()
    given = req.headers.get("X-SalesTarget-Signature", "")
    if abs(time.time() - int(timestamp)) > 300 or not hmac.compare_digest(f"sha256={expected}", given):
        return 401, {"error": "bad signature"}
    return 204, {}


PLATFORMS = {
    "dingtalk": (lambda r: (200, dingtalk_reply(r)), "/robot/send?access_token=tok"),
    "wecom": (lambda r: (200, wecom_reply(r)), f"/cgi-bin/webhook/send?key={WECOM_KEY}"),
    "feishu": (lambda r: (200, feishu_reply(r)), "/open-apis/bot/v2/hook/abc"),
    "webhook": (webhook_reply, "/hooks/salestarget"),
}


@dataclass
class Robot:
    """What a test can steer: a fixed answer instead of the platform's, or no answer at all."""

    requests: list[Received] = field(default_factory=list)
    forced: tuple[int, object] | None = None
    stall: bool = False
    release: threading.Event = field(default_factory=threading.Event)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        robot, platform = self.server.robot, self.server.platform
        req = Received(self.path, dict(self.headers), self.rfile.read(int(self.headers["Content-Length"])))
        robot.requests.append(req)
        if robot.stall:
            robot.release.wait(5)
            return
        status, reply = robot.forced or platform(req)
        raw = reply if isinstance(reply, bytes) else json.dumps(reply, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format, *args):  # keep test output clean
        pass


@pytest.fixture
def robot():
    """A platform stand-in; ``robot(kind)`` returns (Robot, webhook URL)."""
    servers = []

    def start(kind: str):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.robot, (server.platform, path) = Robot(), PLATFORMS[kind]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server.robot, f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield start
    for server in servers:
        server.robot.release.set()
        server.shutdown()
        server.server_close()


def transport(kind: str, url: str, secret: str = SECRET, **kwargs):
    return build(kind, {"url": url, "secret": secret}, **kwargs)


def test_dingtalk_signs_and_mentions(robot):
    bot, url = robot("dingtalk")
    delivered = transport("dingtalk", url).send(MESSAGE)

    assert delivered.status == 200 and '"errcode": 0' in delivered.response
    (req,) = bot.requests
    assert req.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "华东区".encode() in req.raw  # UTF-8 on the wire, not \u escapes
    body = req.json
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == MESSAGE.title
    assert body["markdown"]["text"].startswith(MESSAGE.markdown)
    assert body["markdown"]["text"].endswith("@13800001111 @13900002222")
    assert body["at"] == {"atMobiles": list(MOBILES), "isAtAll": False}


def test_wecom_sends_markdown_then_mobile_mentions(robot):
    bot, url = robot("wecom")
    transport("wecom", url, secret="").send(MESSAGE)

    markdown, mention = (req.json for req in bot.requests)
    assert markdown == {"msgtype": "markdown", "markdown": {"content": MESSAGE.markdown}}
    assert mention == {
        "msgtype": "text",
        "text": {"content": MESSAGE.title, "mentioned_mobile_list": list(MOBILES)},
    }


def test_wecom_without_mobiles_sends_one_message(robot):
    bot, url = robot("wecom")
    transport("wecom", url, secret="").send(Message(title="t", text="t", markdown="**粗体**"))
    assert [req.json["msgtype"] for req in bot.requests] == ["markdown"]


def test_feishu_sends_signed_card(robot):
    bot, url = robot("feishu")
    transport("feishu", url).send(MESSAGE)

    body = bot.requests[0].json
    assert body["msg_type"] == "interactive" and len(body["timestamp"]) == 10  # seconds
    card = body["card"]
    assert card["header"]["title"] == {"tag": "plain_text", "content": MESSAGE.title}
    assert card["elements"][0] == {"tag": "markdown", "content": MESSAGE.markdown}
    (button,) = card["elements"][1]["actions"]
    assert button["tag"] == "button" and button["url"] == LINK


def test_feishu_without_link_has_no_button(robot):
    bot, url = robot("feishu")
    transport("feishu", url).send(Message(title="标题", text="正文", markdown="正文"))
    assert [e["tag"] for e in bot.requests[0].json["card"]["elements"]] == ["markdown"]


def test_webhook_posts_signed_json(robot):
    bot, url = robot("webhook")
    delivered = transport("webhook", url).send(MESSAGE)

    assert delivered.status == 204
    body = bot.requests[0].json
    assert set(body) == {"title", "text", "markdown", "link", "sent_at"}
    assert body["text"] == MESSAGE.text and body["link"] == LINK
    assert body["sent_at"].endswith("+00:00")


@pytest.mark.parametrize(
    ("kind", "status", "refusal"),
    [
        ("dingtalk", 200, "sign not match"),
        ("feishu", 200, "sign match fail"),
        ("webhook", 401, "bad signature"),
        ("wecom", 200, "invalid webhook url"),
    ],
)
def test_wrong_secret_or_key_is_permanent(robot, kind, status, refusal):
    bot, url = robot(kind)
    with pytest.raises(DeliveryError) as caught:
        transport(kind, url.replace(WECOM_KEY, "removed-robot"), secret="SEC-wrong").send(MESSAGE)
    assert caught.value.permanent and caught.value.status == status
    assert refusal in caught.value.response
    assert len(bot.requests) == 1


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("dingtalk", {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
        ("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}),
        ("feishu", {"code": 11232, "msg": "frequency limited"}),
        ("feishu", {"code": 9499, "msg": "too many request"}),
    ],
)
def test_rate_limit_code_is_transient(robot, kind, answer):
    bot, url = robot(kind)
    bot.forced = (200, answer)
    with pytest.raises(DeliveryError) as caught:
        transport(kind, url).send(MESSAGE)
    assert not caught.value.permanent
    assert caught.value.response == json.dumps(answer, ensure_ascii=False)


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("dingtalk", {"errcode": 310000, "errmsg": "keywords not in content"}),
        ("dingtalk", {"errcode": 400013, "errmsg": "群已被解散"}),
        ("feishu", {"code": 19024, "msg": "Key Words Not Found"}),
        ("feishu", {"StatusCode": 19021, "StatusMessage": "sign match fail"}),
    ],
)
def test_other_platform_codes_are_permanent(robot, kind, answer):
    bot, url = robot(kind)
    bot.forced = (200, answer)
    with pytest.raises(DeliveryError) as caught:
        transport(kind, url).send(MESSAGE)
    assert caught.value.permanent


@pytest.mark.parametrize(
    ("kind", "status", "permanent"),
    [(kind, 500, False) for kind in sorted(PLATFORMS)]
    + [(kind, 404, True) for kind in sorted(PLATFORMS)]
    + [("webhook", 502, False), ("webhook", 408, False), ("webhook", 429, False), ("webhook", 403, True)],
)
def test_http_status_decides(robot, kind, status, permanent):
    bot, url = robot(kind)
    bot.forced = (status, {"error": "状态"})
    with pytest.raises(DeliveryError) as caught:
        transport(kind, url).send(MESSAGE)
    assert (caught.value.permanent, caught.value.status) == (permanent, status)
    assert "状态" in caught.value.response


def test_answer_without_a_code_is_transient(robot):
    bot, url = robot("dingtalk")
    bot.forced = (200, b"<html>proxy login</html>")
    with pytest.raises(DeliveryError) as caught:
        transport("dingtalk", url).send(MESSAGE)
    assert not caught.value.permanent and "proxy login" in caught.value.response


@pytest.mark.parametrize("kind", sorted(PLATFORMS))
def test_silent_server_times_out_as_transient(robot, kind):
    bot, url = robot(kind)
    bot.stall = True
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        transport(kind, url, timeout=0.5).send(MESSAGE)
    assert not caught.value.permanent and caught.value.status is None
    assert "Timeout" in caught.value.response
    assert time.monotonic() - started < 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_is_transient():
    with pytest.raises(DeliveryError) as caught:
        transport("webhook", f"http://127.0.0.1:{free_port()}/hook").send(MESSAGE)
    assert not caught.value.permanent and "ConnectError" in caught.value.response


def test_proxy_environment_is_ignored(robot, monkeypatch):
    bot, url = robot("webhook")
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert transport("webhook", url).send(MESSAGE).status == 204


def test_unsupported_scheme_is_permanent():
    with pytest.raises(DeliveryError) as caught:
        transport("webhook", "ftp://127.0.0.1/hook").send(MESSAGE)
    assert caught.value.permanent


LONG = Message(title="长报告", text="长", markdown="销售额明细😀" * 1_700, link=LINK)  # 10,200 chars


def test_wecom_cuts_markdown_to_4096_bytes(robot):
    bot, url = robot("wecom")
    transport("wecom", url, secret="").send(LONG)

    content = bot.requests[0].json["markdown"]["content"]
    assert 4_000 < len(content.encode("utf-8")) <= 4_096
    assert content.endswith(f"…\n\n{LINK}")
    assert content.startswith("销售额明细😀销售额")


@pytest.mark.parametrize(("kind", "limit"), [("dingtalk", 20_000), ("feishu", 20_000)])
def test_long_bodies_stay_under_the_request_limit(robot, kind, limit):
    bot, url = robot(kind)
    transport(kind, url).send(LONG)  # the DingTalk stand-in refuses bodies over 20,000 bytes

    req = bot.requests[0]
    assert len(req.raw) <= limit
    body = req.json
    text = body["markdown"]["text"] if kind == "dingtalk" else body["card"]["elements"][0]["content"]
    assert text.endswith(f"…\n\n{LINK}")


def test_fit_never_splits_a_character():
    text = "a¢中😀" * 50  # 1-, 2-, 3- and 4-byte characters
    for limit in range(20, 120):
        cut = fit(text, limit, "http://x/")
        assert len(cut.encode()) <= limit
        assert cut.endswith("…\n\nhttp://x/")
        assert text.startswith(cut.removesuffix("…\n\nhttp://x/"))
    assert fit("短", 10, LINK) == "短"
    assert fit(text, 30).endswith("…")


@pytest.mark.parametrize("kind", ["dingtalk", "wecom", "feishu", "webhook"])
def test_validate_http_channels(kind):
    validate = TRANSPORTS[kind].validate
    assert validate({"url": "https://oapi.dingtalk.com/robot/send?access_token=x"}) == []
    with translation.override("en"):
        assert [str(p) for p in validate({})] == ["Enter the webhook URL."]
    assert len(validate({"url": "  "})) == 1
    assert len(validate({"url": "ftp://example.com/x"})) == 1
    assert len(validate({"url": "oapi.dingtalk.com/robot/send"})) == 1


def test_validate_email():
    validate = TRANSPORTS["email"].validate
    assert validate({"to": ["a@example.com", "sales@例子.中国"]}) == []
    assert len(validate({"to": []})) == 1
    assert len(validate({})) == 1
    (problem,) = validate({"to": ["a@example.com", "not-an-address"]})
    assert "not-an-address" in str(problem)


def test_build_unknown_kind():
    with pytest.raises(KeyError):
        build("sms", {})


class Inbox:
    def __init__(self):
        self.messages: list[bytes] = []
        self.refuse = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def smtp_connection(port: int):
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="127.0.0.1",
        port=port,
        timeout=5,
        username="",
        password="",
        use_tls=False,
        use_ssl=False,
    )


def test_email_delivers_text_and_html(smtp):
    inbox, port = smtp
    delivered = build("email", {"to": ["manager@example.com"]}, connection=smtp_connection(port)).send(
        MESSAGE
    )

    assert delivered.status == 250
    (raw,) = inbox.messages
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == MESSAGE.title
    assert mail.get_body(("plain",)).get_content().strip() == MESSAGE.text
    assert mail.get_body(("html",)).get_content().strip() == MESSAGE.html


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 No such user here", True), ("450 4.2.0 Greylisted, try again later", False)],
)
def test_email_refused_recipient(smtp, reply, permanent):
    inbox, port = smtp
    inbox.refuse = reply
    with pytest.raises(DeliveryError) as caught:
        build("email", {"to": ["gone@example.com"]}, connection=smtp_connection(port)).send(MESSAGE)
    assert caught.value.permanent is permanent and reply[4:] in caught.value.response
    assert inbox.messages == []


def test_email_closed_port_is_transient():
    with pytest.raises(DeliveryError) as caught:
        build("email", {"to": ["a@example.com"]}, connection=smtp_connection(free_port())).send(MESSAGE)
    assert not caught.value.permanent
