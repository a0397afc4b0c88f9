"""Sending what is due: claim, send, record (Healthchecks' shape).

Each delivery is claimed with a conditional UPDATE (pending -> sending) before it is sent, so
of several workers exactly one gets it; a claim left by a worker that died is released after
CLAIM_TIMEOUT. A transient failure (a 5xx, a time-out, a rate limit) is tried again later with
doubling waits; a permanent one (a wrong token, a refused address) is marked failed at once.
Robots are held to their platform's published rate: at most ROBOT_RATE messages a minute each.
An in-app message is written in the same transaction that marks it sent: exactly once.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

from django.db import transaction
from django.utils import timezone

from salestarget.alerts.models import Delivery, Notification
from salestarget.alerts.transports import Delivered, DeliveryError, Message, build

CLAIM_TIMEOUT = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 6
FIRST_WAIT = dt.timedelta(minutes=1)
# Messages a minute per robot: DingTalk and WeCom publish 20; Feishu 100 (5 a second).
ROBOT_RATE = {"dingtalk": 20, "wecom": 20, "feishu": 100}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def send_due(now: dt.datetime | None = None, *, worker: str | None = None, limit: int = 200) -> int:
    """Send the deliveries that are due; returns how many this worker sent."""
    now = now or timezone.now()
    worker = worker or worker_name()
    Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT).update(
        status=Delivery.Status.PENDING, claimed_by=""
    )
    due = Delivery.objects.filter(status=Delivery.Status.PENDING, due_at__lte=now).order_by("due_at", "id")
    sent = 0
    for pk in list(due.values_list("pk", flat=True)[:limit]):
        claimed = Delivery.objects.filter(pk=pk, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SENDING, claimed_by=worker, claimed_at=now
        )
        if not claimed:
            continue  # another worker has it
        delivery = Delivery.objects.select_related("channel", "user").get(pk=pk)
        if _throttled(delivery, now):
            Delivery.objects.filter(pk=pk).update(
                status=Delivery.Status.PENDING, claimed_by="", due_at=now + dt.timedelta(minutes=1)
            )
            continue
        if send_one(delivery, worker=worker, now=now).status == Delivery.Status.SENT:
            sent += 1
    return sent


def _throttled(delivery: Delivery, now: dt.datetime) -> bool:
    rate = ROBOT_RATE.get(delivery.via)
    if rate is None or delivery.channel_id is None:
        return False
    recent = Delivery.objects.filter(
        channel_id=delivery.channel_id, status=Delivery.Status.SENT, sent_at__gt=now - dt.timedelta(minutes=1)
    )
    return recent.count() >= rate


def send_one(delivery: Delivery, *, worker: str, now: dt.datetime | None = None) -> Delivery:
    """Send one claimed delivery and record the outcome on it."""
    now = now or timezone.now()
    message = Message(
        title=delivery.title,
        text=delivery.text,
        markdown=delivery.markdown,
        html=delivery.html,
        link=delivery.link,
        at_mobiles=tuple(delivery.at_mobiles),
    )
    attempts = delivery.attempts + 1
    if delivery.via == "app":
        with transaction.atomic():
            Notification.objects.create(
                user=delivery.user, title=delivery.title, text=delivery.text, link=delivery.link
            )
            return _record(delivery, Delivery.Status.SENT, attempts, now, "")
    try:
        if delivery.channel is not None:
            config = delivery.channel.config
        else:
            config = {"to": [delivery.user.email]}
        result: Delivered = build(delivery.via, config).send(message)
    except DeliveryError as error:
        if error.permanent or attempts >= MAX_ATTEMPTS:
            return _record(delivery, Delivery.Status.FAILED, attempts, now, error.response)
        wait = FIRST_WAIT * 2 ** (attempts - 1)
        return _record(delivery, Delivery.Status.PENDING, attempts, now, error.response, due=now + wait)
    return _record(delivery, Delivery.Status.SENT, attempts, now, f"{result.status} {result.response}")


def _record(delivery, status, attempts, now, response, *, due=None) -> Delivery:
    fields = {"status": status, "attempts": attempts, "response": response[:2000], "claimed_by": ""}
    if status == Delivery.Status.SENT:
        fields["sent_at"] = now
    if due is not None:
        fields["due_at"] = due
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)
    return delivery
