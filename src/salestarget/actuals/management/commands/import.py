"""``salestarget import KIND FILE``: facts or master data from CSV/XLSX/XLS.

Runs with full rights (whoever can run commands on the server can change the database
anyway) and records the batch without a user; the web upload records who imported.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salestarget.actuals import import_templates
from salestarget.actuals.importers import KIND_ALIASES, ImportResult, localised, warning_texts, yuan
from salestarget.actuals.masters import MASTER_ALIASES
from salestarget.actuals.parsing import UNIT_NAMES, Problem
from salestarget.actuals.services import (
    do_import_facts,
    do_import_master,
    parse_map_options,
    progress_listener,
)
from salestarget.actuals.templatetags.actuals_tags import record_kind
from salestarget.actuals.uploads import estimated_rows

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = (
        "Import facts (order, collection, visit, opportunity) or master data (units, people, territories, "
        "products, regions, customers) from a CSV, XLSX or XLS file. Columns are guessed from the headers "
        "(Chinese or English); --map overrides. Any invalid row rejects the whole file."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        """The columns of every kind after the options, generated from the import's own field
        definitions (import_templates.help_epilog)."""
        parser = super().create_parser(
            prog_name,
            subcommand,
            formatter_class=_HelpFormatter,
            epilog=import_templates.help_epilog(),
            **kwargs,
        )
        parser.description = textwrap.fill(self.help, 100)
        return parser

    def add_arguments(self, parser):
        parser.add_argument(
            "kind",
            help="order, collection, visit, opportunity, units, people, territories, products, regions, customers",
        )
        parser.add_argument("file", help="a .csv, .xlsx or .xls file (with --template: the .xlsx to write)")
        parser.add_argument(
            "--template",
            action="store_true",
            help="write an xlsx template of KIND to FILE (headers, an example row, notes) instead of importing",
        )
        parser.add_argument(
            "--map",
            action="extend",
            nargs="+",
            default=[],
            metavar="FIELD=COLUMN",
            help='map a field to a column, e.g. --map date="Order Date" external_id=SalesOrderNumber+SalesOrderLineNumber',
        )
        parser.add_argument(
            "--date-format",
            help="dd/mm/yy, mm/dd/yy, yyyy-mm-dd or a pattern such as %%d.%%m.%%Y (default: detect)",
        )
        parser.add_argument("--encoding", help="utf-8, gbk, gb18030 or utf-16 (default: detect)")
        parser.add_argument(
            "--unit",
            default="yuan",
            choices=UNIT_NAMES,
            help="unit of the amounts in the file, in the company's currency: "
            "units (yuan), thousands, wan (10,000) or millions",
        )
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="create unknown people, products, customers and regions",
        )
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument(
            "--source",
            default="file",
            help="the system the rows come from; re-imports skip rows already imported from it",
        )
        parser.add_argument("--sheet", help="the worksheet to read (default: the first)")
        parser.add_argument(
            "--effective-from",
            metavar="YYYY-MM-DD",
            help="people, territories: the day placements start when a row gives no date of its own "
            "(default: a new person's hire date, else today)",
        )

    def handle(self, *args, kind, file, **options):
        if options["template"]:
            self._template(kind, file)
            return
        with _terminal_progress(file, options["sheet"]) as listening:
            token = progress_listener.set(listening)
            try:
                result = self._import(kind, file, options)
            finally:
                progress_listener.reset(token)
        self._report(result, options)

    def _template(self, kind, file):
        from salestarget.catalog.models import Segment

        key = kind.strip().lower()
        kind = MASTER_ALIASES.get(key) or KIND_ALIASES.get(key)
        if kind not in import_templates.KINDS:
            raise CommandError(
                _("Unknown kind %(kind)s: use %(kinds)s.")
                % {"kind": key, "kinds": ", ".join(import_templates.KINDS)}
            )
        segments = list(Segment.objects.values_list("code", "name")) if kind == "customers" else None
        path = Path(file)
        if path.suffix.lower() != ".xlsx":
            raise CommandError(
                _("A template is an .xlsx file: name the file %(name)s.") % {"name": f"{path.stem}.xlsx"}
            )
        try:
            path.write_bytes(import_templates.build_template(kind, segments))
        except OSError as error:
            raise CommandError(
                _("Cannot write %(file)s: %(reason)s") % {"file": file, "reason": error.strerror}
            ) from None
        self.stdout.write(
            self.style.SUCCESS(_("Template of %(kind)s written to %(file)s.") % {"kind": kind, "file": file})
        )

    def _import(self, kind, file, options):
        try:
            mapping = parse_map_options(options["map"])
            common = dict(
                mapping=mapping,
                date_format=options["date_format"],
                encoding=options["encoding"],
                create_missing=options["create_missing"],
                dry_run=options["dry_run"],
                sheet=options["sheet"],
            )
            key = kind.strip().lower()
            if key in MASTER_ALIASES:
                result = do_import_master(
                    None, file, kind, effective_from=options.get("effective_from"), **common
                )
            elif key in KIND_ALIASES and options.get("effective_from"):
                raise CommandError(
                    _("--effective-from is for master data (people, territories), not for facts.")
                )
            elif key in KIND_ALIASES:
                result = do_import_facts(
                    None, file, kind, source=options["source"], unit=options["unit"], **common
                )
            else:
                raise CommandError(
                    _("Unknown kind %(kind)s: use %(kinds)s.")
                    % {
                        "kind": kind,
                        "kinds": ", ".join(
                            [*dict.fromkeys(KIND_ALIASES.values()), *dict.fromkeys(MASTER_ALIASES.values())]
                        ),
                    }
                )
        except Problem as problem:
            raise CommandError(str(problem)) from None
        return result

    def _report(self, result, options):
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        else:
            self._print(result, dry_run=options["dry_run"])
        if result.status == "rejected":
            raise CommandError(
                ngettext(
                    "Nothing was imported: %(count)s error.",
                    "Nothing was imported: %(count)s errors.",
                    result.error_count,
                )
                % {"count": result.error_count},
                returncode=1,
            )

    def _print(self, result: ImportResult, dry_run: bool = False) -> None:
        """The summary; a dry run records no batch, so it names none and says what the import
        would write."""
        w = self.stdout.write
        if result.status == "applied":
            w(self.style.SUCCESS(_("Batch #%(id)s applied: %(kind)s from %(file)s") % _names(result)))
        elif result.status == "dry_run":
            w(self.style.WARNING(_("Dry run, nothing written: %(kind)s from %(file)s") % _names(result)))
        elif result.batch_id is None:
            w(
                self.style.ERROR(
                    _("Dry run, the file would be rejected: %(kind)s from %(file)s") % _names(result)
                )
            )
        else:
            w(self.style.ERROR(_("Batch #%(id)s rejected: %(kind)s from %(file)s") % _names(result)))
        opts = result.options
        if opts.get("mapping"):
            w("  " + _("columns") + ": " + ", ".join(f"{f}={c}" for f, c in opts["mapping"].items()))
        details = [opts.get("format", ""), opts.get("encoding") or "", opts.get("sheet") or ""]
        if opts.get("date_format"):
            details.append(_("dates %(format)s") % {"format": opts["date_format"]})
        w("  " + ", ".join(d for d in details if d))
        for note in opts.get("notes", []):
            w("  " + self.style.WARNING(_("note") + ": " + _(note["message"]) % note["params"]))
        would = dry_run or result.batch_id is None
        written = _("rows that would be written") if would else _("rows written")
        lines = [(_("rows read"), result.rows_read), (written, result.rows_written)]
        if result.rows_updated:
            lines.append(
                (_("of which would be updated") if would else _("of which updated"), result.rows_updated)
            )
        lines.append((_("rows already imported (skipped)"), result.rows_skipped))
        for label, count in lines:
            w("  " + label + ": " + format(count, ","))
        if result.kind in KIND_ALIASES.values() and result.status != "rejected":
            w("  " + _("total amount") + ": " + _grouped(yuan(result.amount_total)))
        if result.created:
            w(
                "  "
                + _("created")
                + ": "
                + ", ".join(f"{record_kind(k)} {v:,}" for k, v in result.created.items())
            )
        if opts.get("effective_from"):
            w("  " + _("effective from") + ": " + opts["effective_from"])
        for text in warning_texts(result.warnings):
            w("  " + self.style.WARNING(_("warning") + ": " + text))
        for entry in result.errors[:SHOWN_ERRORS]:
            e = localised(entry)
            where = _("row %(row)s") % {"row": e["row"]} if e["row"] is not None else _("file")
            column = f" [{e['column']}]" if e["column"] else ""
            self.stderr.write(f"  {where}{column}: {e['reason']}")
        if result.error_count > SHOWN_ERRORS and result.batch_id is None:
            self.stderr.write(
                "  "
                + _("… and %(count)s more errors: a dry run records no batch; see them all with --json.")
                % {"count": result.error_count - SHOWN_ERRORS}
            )
        elif result.error_count > SHOWN_ERRORS:
            self.stderr.write(
                "  "
                + _("… and %(count)s more errors: download the error report of batch #%(id)s.")
                % {"count": result.error_count - SHOWN_ERRORS, "id": result.batch_id}
            )


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's order of options, with the columns' lines kept as written."""


def _names(result: ImportResult) -> dict:
    return {"id": result.batch_id, "kind": result.kind, "file": result.filename}


def _grouped(amount: str) -> str:
    whole, _dot, cents = amount.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}.{cents}"


@contextmanager
def _terminal_progress(file, sheet):
    """The web page's progress bar, on a terminal (tqdm; nothing when output is not a terminal)."""
    from tqdm import tqdm

    total = estimated_rows(Path(file), sheet or "")
    with tqdm(
        total=total, unit=" rows", unit_scale=True, disable=None, leave=False, dynamic_ncols=True
    ) as bar:

        def listening(done: int, errors: int) -> None:
            bar.update(done - bar.n)
            if errors:
                bar.set_postfix_str(_("%(errors)s errors") % {"errors": errors}, refresh=False)

        yield listening
