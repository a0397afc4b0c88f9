"""``salestarget token USERNAME NAME``: issue a personal API token (printed once)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salestarget.accounts.models import ApiToken
from salestarget.actuals.parsing import Problem
from salestarget.actuals.services import do_bind_source


class Command(BaseCommand):
    help = "Issue a personal API token for a user; the token is printed once and stored only as a hash."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", help="what the token is for, e.g. ERP nightly export")
        parser.add_argument("--days", type=int, default=365, help="days until it expires (0: never)")
        parser.add_argument(
            "--source",
            help="bind a fact source to the token: only requests with this token may write that source",
        )

    def handle(self, *args, username, name, days, source, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(_("No active user called %(name)s.") % {"name": username})
        expires = timezone.now() + dt.timedelta(days=days) if days > 0 else None
        with transaction.atomic():
            token, raw = ApiToken.issue(user, name, expires)
            if source:
                try:
                    do_bind_source(token, source)
                except Problem as problem:
                    raise CommandError(str(problem)) from None
        self.stdout.write(raw)
