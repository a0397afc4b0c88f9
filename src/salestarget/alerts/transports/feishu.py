"""Feishu (飞书) custom bot.

From Feishu's "自定义机器人使用指南" (Custom bot usage guide): timestamp in seconds, within one
hour of Feishu's clock; sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")) (the
string to sign is the key, the message is empty), both in the JSON body; the request body must
stay under 20 KB; 100 requests a minute and 5 a second per bot, answered with 11232 when
exceeded, which is worth a retry. 9499 is retried too (the guide does not list it; kubesphere's
notification-manager #126 retries it as Feishu's throttling answer). 19021 (sign match fail or
timestamp not within one hour), 19024 (keyword check failed) and any other code need a person.
Newer answers carry ``code``, older ones ``StatusCode``.

Custom bots @ people by open_id, user_id or e-mail, never by mobile, so ``at_mobiles`` is not
used here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.utils.translation import gettext

from .base import Delivered, HttpTransport, Message, check_code, delivered, fit

MARKDOWN_LIMIT = 20_000 - 2_000  # the rest of the card, the signature and JSON escapes
RATE_LIMITED = {9499, 11232}


def sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FeishuTransport(HttpTransport):
    def send(self, message: Message) -> Delivered:
        elements: list[dict] = [
            {"tag": "markdown", "content": fit(message.markdown, MARKDOWN_LIMIT, message.link)}
        ]
        if message.link:
            button = {"tag": "button", "type": "primary", "url": message.link}
            button["text"] = {"tag": "plain_text", "content": gettext("View details")}
            elements.append({"tag": "action", "actions": [button]})
        card = {"header": {"title": {"tag": "plain_text", "content": message.title}}, "elements": elements}
        payload: dict = {"msg_type": "interactive", "card": card}
        if self.secret:
            timestamp = str(int(time.time()))
            payload |= {"timestamp": timestamp, "sign": sign(self.secret, timestamp)}
        return delivered(self.post_json(self.url, payload))

    def check_body(self, response) -> None:
        check_code(response, ("code", "StatusCode"), RATE_LIMITED)
