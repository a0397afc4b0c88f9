"""``salestarget send-alerts [--once]``: alerts and reports for those who run cron instead of
the worker that ``serve`` starts (which does the same every minute)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from salestarget.alerts.tasks import tick


class Command(BaseCommand):
    help = _("Check the alert rules, queue the reports that are due and send what is waiting.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help=_("one round, then exit (for cron)"))
        parser.add_argument("--every", type=int, default=60, help=_("seconds between rounds (default 60)"))

    def handle(self, *args, once: bool = False, every: int = 60, **options):
        while True:
            done = tick()
            self.stdout.write(_("%(queued)s queued, %(sent)s sent") % done)
            if once:
                return
            time.sleep(max(1, every))
