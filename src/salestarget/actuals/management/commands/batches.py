"""``salestarget batches [--rollback ID]``: the import batches, newest first, and undoing one.

The command line acts as the operator of the installation (like ``salestarget import``), so
it sees and may roll back every batch.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from salestarget.actuals.models import ImportBatch
from salestarget.actuals.parsing import Problem
from salestarget.actuals.services import can_roll_back, do_rollback_batch
from salestarget.actuals.templatetags.actuals_tags import batch_kind, batch_source, yuan


class Command(BaseCommand):
    help = "List the import batches (who, when, rows, errors), or roll one back with --rollback ID."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=20, help="how many batches to list (default 20)")
        parser.add_argument("--rollback", type=int, metavar="ID", help="undo this batch")

    def handle(self, *args, limit, rollback, **options):
        if rollback is not None:
            self._rollback(rollback)
            return
        batches = ImportBatch.objects.select_related("created_by").order_by("-created_at", "-pk")[:limit]
        for b in batches:
            who = b.created_by.get_username() if b.created_by else _("command line")
            amount = "" if b.source == "master" else f"  {yuan(b.amount_total)}"
            self.stdout.write(
                f"#{b.pk:<6} {b.created_at:%Y-%m-%d %H:%M}  {b.get_status_display():<6} "
                f"{batch_kind(b.kind)}  {b.filename or batch_source(b.source)}  {who}  "
                + _("read %(read)s, written %(written)s, skipped %(skipped)s, errors %(errors)s")
                % {
                    "read": b.rows_read,
                    "written": b.rows_written,
                    "skipped": b.rows_skipped,
                    "errors": b.error_count,
                }
                + amount
            )

    def _rollback(self, pk: int) -> None:
        batch = ImportBatch.objects.filter(pk=pk).first()
        if batch is None:
            raise CommandError(_("There is no batch #%(id)s.") % {"id": pk})
        if not can_roll_back(None, batch):
            raise CommandError(
                _("Batch #%(id)s cannot be rolled back: it is %(status)s.")
                % {"id": pk, "status": batch.get_status_display()}
                if batch.status != ImportBatch.Status.APPLIED
                else _("Batch #%(id)s was imported before rollbacks of master data were recorded.")
                % {"id": pk}
            )
        try:
            batch = do_rollback_batch(None, batch)
        except Problem as problem:
            raise CommandError(str(problem)) from None
        self.stdout.write(self.style.SUCCESS(_("Batch #%(id)s was rolled back.") % {"id": pk}))
        for record in batch.options.get("kept_on_rollback", []):
            self.stdout.write("  " + _("kept, in use: %(record)s") % {"record": record})
