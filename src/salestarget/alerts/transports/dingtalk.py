"""DingTalk custom robot (自定义机器人).

From DingTalk's "自定义机器人接入" and "自定义机器人安全设置" (加签): timestamp in
milliseconds, within one hour of DingTalk's clock; sign = urlencode(base64(HMAC-SHA256(key=secret,
msg=f"{timestamp}\\n{secret}"))), both appended to the webhook's query. A markdown message
@-mentions a mobile only if ``@<mobile>`` is also in its text. At most 20 messages a minute per
robot; beyond that DingTalk answers errcode 130101 ("send too fast") and throttles for minutes,
which is worth a retry. 310000 (keyword, signature, timestamp or IP check failed), 300001 (token
does not exist), 400013 (group dissolved) and any other code need a person.

The size limit is not in the pages we found; DingTalk rejects bodies over 20,000 bytes with
460101 "message too long, exceed 20000 bytes" (reported in timonwong/prometheus-webhook-dingtalk
#30 and feiyu563/PrometheusAlert #318), so the text keeps 2,000 bytes for title, @ list and JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

from .base import Delivered, HttpTransport, Message, check_code, delivered, fit

TEXT_LIMIT = 20_000 - 2_000
RATE_LIMITED = {130101}


def sign(secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


class DingTalkTransport(HttpTransport):
    def send(self, message: Message) -> Delivered:
        url = self.url
        if self.secret:
            timestamp = int(time.time() * 1000)
            url += f"{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign(self.secret, timestamp)}"
        mentions = " ".join(f"@{mobile}" for mobile in message.at_mobiles)
        text = fit(message.markdown, TEXT_LIMIT - len(mentions.encode()) - 2, message.link)
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": f"{text}\n\n{mentions}" if mentions else text},
            "at": {"atMobiles": list(message.at_mobiles), "isAtAll": False},
        }
        return delivered(self.post_json(url, payload))

    def check_body(self, response) -> None:
        check_code(response, ("errcode",), RATE_LIMITED)
