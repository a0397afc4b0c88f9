"""Notification transports, one small module per channel kind.

A channel stores its kind and a plain config dict (``url``, ``secret``; ``to`` for e-mail);
``build`` turns the two into something that can ``send`` a Message, so the delivery job never
needs to know which platform it is talking to.
"""

from __future__ import annotations

from .base import Delivered, DeliveryError, Message, Transport
from .dingtalk import DingTalkTransport
from .email import EmailTransport
from .feishu import FeishuTransport
from .webhook import WebhookTransport
from .wecom import WeComTransport

__all__ = ["TRANSPORTS", "Delivered", "DeliveryError", "Message", "Transport", "build"]

TRANSPORTS: dict[str, type[Transport]] = {
    "email": EmailTransport,
    "dingtalk": DingTalkTransport,
    "wecom": WeComTransport,
    "feishu": FeishuTransport,
    "webhook": WebhookTransport,
}


def build(kind: str, config: dict, **kwargs) -> Transport:
    """``kwargs`` go to the transport: ``timeout`` for HTTP ones, ``connection`` for e-mail."""
    return TRANSPORTS[kind](config, **kwargs)
