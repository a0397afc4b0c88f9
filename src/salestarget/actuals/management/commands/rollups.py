"""``salestarget rollups verify|rebuild``: check the daily rollups against the facts, and the
facts' units against the memberships, and put both right (after a restore, a manual SQL fix,
or a bug)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from salestarget.actuals import rollups


class Command(BaseCommand):
    help = "Verify the daily rollups against the facts (verify), or verify and recompute them (rebuild)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "rebuild"])

    def handle(self, *args, action, **options):
        problems = rollups.verify()
        if action == "verify":
            if problems:
                for line in problems:
                    self.stderr.write(line)
                raise CommandError(
                    _(
                        "The rollups differ from the facts (first %(count)s differences above); run: rollups rebuild"
                    )
                    % {"count": len(problems)}
                )
            self.stdout.write(self.style.SUCCESS(_("The rollups match the facts.")))
            return
        if problems:
            self.stdout.write(
                _("%(count)s rollup rows differed from the facts (first shown); rebuilding.")
                % {"count": len(problems)}
            )
            for line in problems[:10]:
                self.stdout.write("  " + line)
        rebooked = rollups.restamp_all()
        if rebooked:
            self.stdout.write(
                _("Re-booked %(count)s facts to the unit their person belonged to on their date.")
                % {"count": rebooked}
            )
        count = rollups.rebuild()
        remaining = rollups.verify()
        if remaining:
            raise CommandError(
                _("The rollups still differ after the rebuild: %(line)s") % {"line": remaining[0]}
            )
        self.stdout.write(
            self.style.SUCCESS(_("Rebuilt %(count)s rollup rows; they match the facts.") % {"count": count})
        )
