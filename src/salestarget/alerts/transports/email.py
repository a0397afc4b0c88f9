"""E-mail through Django's mail settings, plain text with an HTML alternative.

SMTP says itself which failures are final: 5xx replies (unknown recipient, sender refused,
rejected data) and failed authentication will not change on a retry, 4xx replies (greylisting,
mailbox busy) and lost or refused connections and time-outs usually do.
"""

from __future__ import annotations

import smtplib

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from .base import Delivered, DeliveryError, Message, Transport


def is_permanent(exc: OSError) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code >= 500 for code, _reply in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False  # disconnected, connection refused or reset, time-out


class EmailTransport(Transport):
    def __init__(self, config: dict, *, connection=None):
        self.to = list(config.get("to") or [])
        self.connection = connection

    @classmethod
    def validate(cls, config: dict) -> list[str]:
        to = config.get("to") or []
        if not to:
            return [_("Add at least one recipient.")]
        problems = []
        for address in to:
            try:
                validate_email(address)
            except ValidationError:
                problems.append(_("Not an e-mail address: %(address)s") % {"address": address})
        return problems

    def send(self, message: Message) -> Delivered:
        connection = self.connection or get_connection()
        email = EmailMultiAlternatives(
            subject=message.title, body=message.text, to=self.to, connection=connection
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            sent = email.send()
        except OSError as exc:  # smtplib's errors are OSErrors too
            raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=is_permanent(exc)) from exc
        if not sent:
            raise DeliveryError("no recipients", permanent=True)
        return Delivered(status=250, response="accepted for " + ", ".join(self.to))
