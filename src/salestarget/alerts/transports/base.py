"""What every channel shares: the message, the two outcomes, and one careful HTTP POST.

Shaped after Healthchecks' ``hc/api/transports.py``. The one decision each transport must get
right is permanent versus transient: retrying a wrong token or a missing keyword only adds noise
(and can get a robot disabled), while giving up on a 503 or a rate limit loses an alert.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.utils.translation import gettext_lazy as _

RESPONSE_LIMIT = 2_000  # characters of a response body worth keeping in a delivery log
RETRY_STATUSES = {408, 429}


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    markdown: str
    html: str = ""
    link: str = ""
    at_mobiles: tuple[str, ...] = ()


class DeliveryError(Exception):
    def __init__(self, response: str, *, permanent: bool, status: int | None = None):
        self.response, self.permanent, self.status = response[:RESPONSE_LIMIT], permanent, status
        super().__init__(self.response)


@dataclass(frozen=True)
class Delivered:
    status: int
    response: str


class Transport(ABC):
    @classmethod
    @abstractmethod
    def validate(cls, config: dict) -> list[str]: ...

    @abstractmethod
    def send(self, message: Message) -> Delivered:
        """Deliver once, or raise DeliveryError; the caller owns retries and backoff."""


class HttpTransport(Transport):
    def __init__(self, config: dict, *, timeout: float = 10.0):
        self.url = config.get("url", "")
        self.secret = config.get("secret", "")
        self.timeout = timeout

    @classmethod
    def validate(cls, config: dict) -> list[str]:
        url = (config.get("url") or "").strip()
        if not url:
            return [_("Enter the webhook URL.")]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return [_("The URL must start with http:// or https://.")]
        return []

    def post_json(self, url: str, payload: dict, headers: dict | None = None) -> httpx.Response:
        return self.post(url, encode(payload), headers)

    def post(self, url: str, body: bytes, headers: dict | None = None) -> httpx.Response:
        headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        try:
            # trust_env=False: an intranet install's HTTP(S)_PROXY must not silently reroute robots.
            with httpx.Client(timeout=self.timeout, trust_env=False) as client:
                response = client.post(url, content=body, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=True) from exc
        except httpx.TransportError as exc:  # time-outs, refused or reset connections, DNS
            raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        status = response.status_code
        if status >= 500 or status in RETRY_STATUSES:
            raise DeliveryError(response.text, permanent=False, status=status)
        if not response.is_success:  # a redirect or 4xx will not fix itself
            raise DeliveryError(response.text, permanent=True, status=status)
        self.check_body(response)
        return response

    def check_body(self, response: httpx.Response) -> None:
        """Robots answer HTTP 200 with their own error code; each platform reads its own."""


def encode(payload: dict) -> bytes:
    # Chinese goes out as UTF-8, not \u escapes, so byte limits count what the platform counts.
    return json.dumps(payload, ensure_ascii=False).encode()


def delivered(response: httpx.Response) -> Delivered:
    return Delivered(response.status_code, response.text[:RESPONSE_LIMIT])


def check_code(response: httpx.Response, keys: tuple[str, ...], retry_codes: Collection[int]) -> None:
    """Raise unless the first of ``keys`` in the JSON answer is 0. An answer with no code at
    all (a proxy's HTML page) is treated as transient: it says nothing about our settings."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = next((body[key] for key in keys if isinstance(body, dict) and key in body), None)
    if code == 0:
        return
    permanent = code is not None and code not in retry_codes
    raise DeliveryError(response.text, permanent=permanent, status=response.status_code)


def fit(markdown: str, limit: int, link: str = "") -> str:
    """Cut to ``limit`` UTF-8 bytes on a character boundary, ending with "…" and the link, so
    a cut report still leads to the full one on the dashboard."""
    if len(markdown.encode()) <= limit:
        return markdown
    tail = "…" + (f"\n\n{link}" if link else "")
    room = max(limit - len(tail.encode()), 0)
    # errors="ignore" only drops the partial character the byte cut left at the end.
    return markdown.encode()[:room].decode(errors="ignore") + tail
