"""``salestarget plan export|import|decompose|submit|approve|reject|publish|close``: a plan's
targets as a workbook or CSV, and back; a scenario decomposed from the plan's total by rules
(``targets.decomposition``); a workflow step (``targets.workflow``), e.g. publishing a plan
approved in the app, or closing last year's at year end.

Runs with full rights, as ``salestarget import`` does (whoever can run commands on the server
can change the database anyway). Exit codes, as ``salestarget import``: 0 done (or a clean dry
run); 1 nothing was written: the file was rejected (its row errors are printed, all of them
with --json), could not be read, or the plan is unknown or not a draft; 2 a wrong option.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salestarget.actuals.importers import localised
from salestarget.actuals.parsing import UNIT_NAMES, Problem
from salestarget.actuals.services import parse_map_options
from salestarget.core.errors import DomainError
from salestarget.targets.models import Plan
from salestarget.targets.workbook import PlanImportResult, do_import_plan_workbook, export_plan

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = (
        "Export a plan's targets to an xlsx workbook (months as columns, quarter and year subtotals, a sheet "
        "per level) or a long CSV, or import such a file, or any wide or long layout through --map."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(
            dest="action",
            required=True,
            metavar="export|import|decompose|submit|approve|reject|publish|close",
        )
        for step in ("submit", "approve", "reject", "publish", "close"):
            sub = actions.add_parser(
                step, help=f"{step} the plan (or, with --unit, a unit's part: submit, approve, reject)"
            )
            sub.add_argument("plan", type=int, metavar="PLAN_ID")
            sub.add_argument("--unit", metavar="CODE", help="the unit whose part this is (default: the plan)")
            sub.add_argument("--comment", default="", help="why (required to reject)")
        export = actions.add_parser("export", help="write the plan's targets to FILE (.xlsx or .csv)")
        export.add_argument("plan", type=int, metavar="PLAN_ID")
        export.add_argument("file", help="the .xlsx (or, with --csv, .csv) file to write")
        export.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the headers")
        export.add_argument("--csv", action="store_true", help="one long CSV table instead of a workbook")
        imp = actions.add_parser("import", help="read targets from FILE into the plan (a draft)")
        imp.add_argument("plan", type=int, metavar="PLAN_ID")
        imp.add_argument("file", help="a .xlsx, .xls or .csv file (UTF-8, GBK/GB18030 or UTF-16)")
        imp.add_argument(
            "--map",
            action="extend",
            nargs="+",
            default=[],
            metavar="FIELD=COLUMN",
            help="map a field to a column: code, kind, name, unit, product, region, segment, level, period, "
            "value, M01..M12, Q1..Q4, total; e.g. --map code=身份证号 M01=1月",
        )
        imp.add_argument(
            "--unit",
            default="yuan",
            choices=UNIT_NAMES,
            help="unit of the values in the file: yuan, thousand, wan (10,000) or million",
        )
        imp.add_argument("--sheet", help="read this one worksheet as the targets (default: the level sheets)")
        imp.add_argument("--encoding", help="utf-8, gbk, gb18030 or utf-16 (default: detect)")
        imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
        imp.add_argument("--json", action="store_true", help="print the summary as JSON")
        dec = actions.add_parser(
            "decompose", help="split the plan's total into every unit, person, month (and line, week)"
        )
        dec.add_argument("plan", type=int, metavar="PLAN_ID")
        dec.add_argument("--scenario", type=int, help="the scenario's id (default: the plan's primary)")
        dec.add_argument(
            "--rules",
            metavar="FILE",
            help="the rules as JSON (as the API takes them); default: the scenario's last rules, "
            "else regions by history and the levels below by capability, months by seasonality",
        )
        dec.add_argument("--preview", action="store_true", help="show the top levels, write nothing")
        dec.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, action, plan, file=None, **options):
        try:
            record = Plan.objects.select_related("metric").get(pk=plan)
        except Plan.DoesNotExist:
            raise CommandError(_("There is no plan %(id)s.") % {"id": plan}) from None
        if action in ("submit", "approve", "reject", "publish", "close"):
            self._step(record, action, options)
        elif action == "decompose":
            self._decompose(record, options)
        elif action == "export":
            self._export(record, file, options)
        else:
            self._import(record, file, options)

    def _step(self, plan: Plan, action: str, options) -> None:
        from salestarget.org.models import OrgUnit
        from salestarget.targets.workflow import do_workflow, past_label

        unit = None
        if options.get("unit"):
            unit = OrgUnit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(_("There is no unit %(code)s.") % {"code": options["unit"]})
        try:
            step = do_workflow(None, plan, action, unit=unit, comment=options.get("comment") or "")
        except DomainError as problem:
            raise CommandError(str(problem)) from None
        what = step.unit.name if step.unit else plan.name
        self.stdout.write(
            self.style.SUCCESS(_("%(what)s: %(action)s.") % {"what": what, "action": past_label(action)})
        )

    def _export(self, plan: Plan, file: str, options) -> None:
        fmt = "csv" if options["csv"] else "xlsx"
        data = export_plan(plan, lang=options["lang"], fmt=fmt)
        try:
            Path(file).write_bytes(data)
        except OSError as error:
            raise CommandError(
                _("Cannot write %(file)s: %(reason)s") % {"file": file, "reason": error.strerror}
            ) from None
        self.stdout.write(
            self.style.SUCCESS(_("Plan %(plan)s written to %(file)s.") % {"plan": plan.name, "file": file})
        )

    def _import(self, plan: Plan, file: str, options) -> None:
        try:
            result = do_import_plan_workbook(
                None,
                plan,
                file,
                mapping=parse_map_options(options["map"]),
                unit=options["unit"],
                sheet=options["sheet"],
                dry_run=options["dry_run"],
                encoding=options["encoding"],
            )
        except (Problem, DomainError) as problem:
            raise CommandError(str(problem)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        else:
            self._print(result)
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

    def _print(self, result: PlanImportResult) -> None:
        w = self.stdout.write
        names = {"file": result.filename, "plan": result.plan_id}
        if result.status == "applied":
            w(self.style.SUCCESS(_("Targets of plan %(plan)s imported from %(file)s") % names))
        elif result.status == "dry_run":
            w(
                self.style.WARNING(
                    _("Dry run, nothing written: targets of plan %(plan)s from %(file)s") % names
                )
            )
        else:
            w(
                self.style.ERROR(
                    _("Rejected, nothing written: targets of plan %(plan)s from %(file)s") % names
                )
            )
        opts = result.options
        if opts.get("mapping"):
            w("  " + _("columns") + ": " + ", ".join(f"{f}={c}" for f, c in opts["mapping"].items()))
        details = [opts.get("format", ""), opts.get("encoding", ""), ", ".join(opts.get("sheets", []))]
        w("  " + ", ".join(d for d in details if d))
        w("  " + _("rows read") + ": " + format(result.rows_read, ","))
        if result.status != "rejected":
            w("  " + _("cells written") + ": " + format(result.cells_written, ","))
            w("  " + _("cells removed") + ": " + format(result.cells_deleted, ","))
        for entry in result.errors[:SHOWN_ERRORS]:
            e = localised(entry)
            where = _("row %(row)s") % {"row": e["row"]} if e["row"] is not None else _("file")
            column = f" [{e['column']}]" if e["column"] else ""
            self.stderr.write(f"  {where}{column}: {e['reason']}")
        if result.error_count > SHOWN_ERRORS:
            self.stderr.write(
                "  "
                + _("… and %(count)s more errors: see them all with --json.")
                % {"count": result.error_count - SHOWN_ERRORS}
            )

    def _decompose(self, plan: Plan, options) -> None:
        from salestarget.targets import decomposition

        scenario = plan.scenarios.filter(pk=options["scenario"]) if options["scenario"] else plan.scenarios
        scenario = scenario.filter(is_primary=True) if not options["scenario"] else scenario
        scenario = scenario.first()
        if scenario is None:
            raise CommandError(_("The plan has no scenario %(id)s.") % {"id": options["scenario"]})
        try:
            rules = decomposition.Rules.from_json(self._rules(options["rules"], scenario))
            if options["preview"]:
                result = decomposition.preview(None, scenario, rules, lang=_lang())
            else:
                with _terminal_bar() as step:
                    result = decomposition.do_decompose(None, scenario, rules, progress=step)
        except DomainError as problem:
            raise CommandError(str(problem)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        elif options["preview"]:
            for row in result["rows"]:
                self.stdout.write(f"{'  ' * row['depth']}{row['name']}  {row['value'] / 100:,.2f}")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    _("%(cells)s targets written, %(kept)s locked or set by hand kept.")
                    % {"cells": result["cells_written"], "kept": result["cells_kept"]}
                )
            )
            for warning in result["warnings"]:
                self.stdout.write(self.style.WARNING(warning))

    def _rules(self, path: str | None, scenario) -> dict:
        if path is None:
            return scenario.rules or DEFAULT_RULES
        try:
            return json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(reason)s") % {"file": path, "reason": error.strerror}
            ) from None
        except ValueError as error:
            raise CommandError(
                _("%(file)s is not JSON: %(reason)s") % {"file": path, "reason": error}
            ) from None


DEFAULT_RULES = {
    "levels": [
        {"depth": 1, "method": "history"},
        *({"depth": d, "method": "capability"} for d in range(2, 21)),
    ],
    "months": "seasonality",
}


def _lang() -> str:
    from salestarget.targets.labels import lang

    return lang()


@contextlib.contextmanager
def _terminal_bar():
    """The job's progress on a terminal (tqdm; nothing when output is not a terminal)."""
    from tqdm import tqdm

    with tqdm(
        total=None, unit=" cells", unit_scale=True, disable=None, leave=False, dynamic_ncols=True
    ) as bar:

        def step(phase: str, done: int, total: int) -> None:
            bar.set_description_str(phase, refresh=False)
            bar.total = total
            bar.update(done - bar.n)

        yield step
