"""``salestarget unlock USERNAME``: lift a sign-in lockout (too many failed attempts)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from salestarget.accounts.services import do_unlock


class Command(BaseCommand):
    help = (
        "Lift the sign-in lockout of accounts (and/or client addresses) after too many failed "
        "attempts: their failed attempts are forgotten."
    )

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", metavar="USERNAME")
        parser.add_argument(
            "--address",
            action="append",
            default=[],
            metavar="IP",
            help="also unlock a client address that tried too many accounts (may be repeated)",
        )

    def handle(self, *args, usernames, address, **options):
        if not usernames and not address:
            raise CommandError(_("Name at least one USERNAME or --address IP to unlock."))
        cleared = [(name, do_unlock(None, username=name)) for name in usernames]
        cleared += [(ip, do_unlock(None, ip=ip)) for ip in address]
        for name, count in cleared:
            if count:
                message = _("%(name)s: unlocked, failed sign-in attempts forgotten.")
            else:
                message = _("%(name)s: no failed sign-in attempts on record.")
            self.stdout.write(message % {"name": name})
