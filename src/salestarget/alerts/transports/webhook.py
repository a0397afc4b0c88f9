"""Generic webhook: the message as JSON, signed so the receiver can tell it came from us.

POST body (UTF-8 JSON): ``{"title", "text", "markdown", "link", "sent_at"}``, ``sent_at`` in
ISO 8601 UTC. When the channel has a secret, two headers come with it::

    X-SalesTarget-Timestamp: <Unix seconds>
    X-SalesTarget-Signature: sha256=<hex HMAC-SHA256(key=secret, msg=f"{timestamp}.".encode() + body)>

To verify, recompute over the raw bytes received (re-serialised JSON will not match), compare
with ``hmac.compare_digest``, and refuse timestamps more than a few minutes old so a captured
request cannot be replayed. Any 2xx answer counts as delivered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time

from .base import Delivered, HttpTransport, Message, delivered, encode


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class WebhookTransport(HttpTransport):
    def send(self, message: Message) -> Delivered:
        sent_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        fields = {"title": message.title, "text": message.text, "markdown": message.markdown}
        body = encode(fields | {"link": message.link, "sent_at": sent_at})
        headers = {}
        if self.secret:
            timestamp = str(int(time.time()))
            headers["X-SalesTarget-Timestamp"] = timestamp
            headers["X-SalesTarget-Signature"] = signature(self.secret, timestamp, body)
        return delivered(self.post(self.url, body, headers))
