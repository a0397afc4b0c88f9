"""A plan's targets as a workbook and back: the layout planners keep, and any other.

:func:`export_plan` writes the primary scenario's cells as planners lay them out: one row per
unit (depth-first, names indented) and then per person, with codes and names, one column per
month of the plan's period, quarter subtotals and the period's total; a sheet per level
(目标/Target, 底线/Floor and 挑战/Stretch, the last two only when cells have them) and a
说明/Notes sheet. Values are in the metric's unit (yuan with two decimals for money) and are
written as computed numbers, never formulas, so the file is exact. The CSV export is one long
table (kind, code, name, level, period, value) holding every stored cell, the simplest exact
round trip.

:func:`do_import_plan_workbook` reads that layout back, or any wide (months as columns) or long
(a period and a value column) layout through a column mapping, and replaces the cells of the
periods it names for the rows it names, in one transaction, only when no row has an error.
A target is a number from 0 (a negative one is an error, as in the grid); a cell may name its
unit as the pages do (1,234.56万, 0.5亿, 100元); a formula cell is an error, never read as
its stored result or as an empty cell; every error names its row, column and value, and its
sheet in a workbook of several (底线!合计).

A quarter or total column is a subtotal of its months: it must agree with them, and it is
stored as a cell of its own only when its months are empty, or when the row's 单独保存的合计 /
"Totals kept" column lists it (the export writes that column when a stored quarter or year
cell sits beside month cells, as in a plan decomposed top-down), so an export imports back
to the same cells. A subtotal that only repeats its months updates a cell of that period the
scenario already holds and creates none. Month headers M01..M12, 1月..12月, Jan..Dec and
2027-01 name calendar months of the plan's period; Q1..Q4 are fiscal quarters. The workbook
shows months, quarters, halves (when the plan stores half-year cells) and the plan's period;
week cells travel in the CSV only.
A level the file does not hold (no 底线 sheet, no floor rows) follows the plan's factor, or
keeps the cell's value when the plan has none.

Cost: three queries to export and one read of the scenario's cells to import, then plain SQL
writes with their history rows (a 5,000-rep plan of 60,000 month cells and levels, SQLite,
with a profiler attached: export 2.6 s, import into an empty plan 9.5 s, again unchanged 3.5 s).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from salestarget.actuals.importers import AMBIGUOUS, PersonLookup, error_entry, localised
from salestarget.actuals.parsing import (
    MAX_MINOR_UNITS,
    Problem,
    cell_text,
    header_key,
    looks_like_formula,
    open_table,
    parse_decimal,
    spreadsheet_safe,
    unit_multiplier,
)
from salestarget.catalog.models import Product, Region, Segment
from salestarget.core.errors import DomainError
from salestarget.core.money import minor_units, typed_amount
from salestarget.engine.calendar import Period, add_months
from salestarget.org.models import OrgUnit, Person
from salestarget.targets.models import Plan, TargetCell

LEVELS = ("target", "floor", "stretch")
DIMENSIONS = ("product", "region", "segment")
NO_TARGET = {"", "-", "--", "—", "–", "null", "none", "n/a", "na", "无"}
MAX_ERRORS = 1000
KEEP = object()

# Headers and words of the export, in the language asked for (not the active one: a Chinese
# user may export an English workbook for the head office).
WORDS = {
    "zh": {
        "kind": "类型",
        "code": "编码",
        "name": "名称",
        "unit": "所属单位",
        "product": "产品",
        "region": "区域",
        "segment": "客户类型",
        "level": "层级",
        "period": "期间",
        "value": "数值",
        "total": "合计",
        "stored": "单独保存的合计",
        "unit_row": "单位",
        "person_row": "人员",
        "target": "目标",
        "floor": "底线",
        "stretch": "挑战",
        "notes": "说明",
        "plan": "计划",
        "metric": "指标",
        "period_label": "期间",
        "value_unit": "数值单位",
        "scenario": "方案",
        "status": "状态",
        "exported": "导出时间",
        "how": "数值为计算结果（非公式）；季度与合计是各月之和；“-”或空白表示无目标。",
    },
    "en": {
        "kind": "Kind",
        "code": "Code",
        "name": "Name",
        "unit": "Unit",
        "product": "Product",
        "region": "Region",
        "segment": "Segment",
        "level": "Level",
        "period": "Period",
        "value": "Value",
        "total": "Total",
        "stored": "Totals kept",
        "unit_row": "Unit",
        "person_row": "Person",
        "target": "Target",
        "floor": "Floor",
        "stretch": "Stretch",
        "notes": "Notes",
        "plan": "Plan",
        "metric": "Metric",
        "period_label": "Period",
        "value_unit": "Values in",
        "scenario": "Scenario",
        "status": "Status",
        "exported": "Exported at",
        "how": "Values are computed numbers (no formulas); quarters and the total add up their months; "
        "“-” or an empty cell means no target.",
    },
}

# Header words of the fields, Chinese and English (compared with header_key).
SYNONYMS = {
    "kind": ["类型", "kind", "type", "对象类型", "行类型"],
    "code": [
        "编码",
        "code",
        "代码",
        "工号",
        "员工编号",
        "人员编码",
        "单位编码",
        "employeeno",
        "employeeid",
        "身份证号",
        "身份证号码",
        "nationalid",
        "email",
        "邮箱",
        "电子邮件",
    ],
    "name": ["名称", "name", "姓名", "单位名称", "人员"],
    "unit": ["所属单位", "unit", "所属部门", "unitcode"],
    "product": ["产品", "product", "产品编码", "productcode", "产品线"],
    "region": ["区域", "region", "区域编码", "regioncode", "地区"],
    "segment": ["客户类型", "segment", "客户分类", "segmentcode"],
    "level": ["层级", "level", "目标层级"],
    "period": ["期间", "period", "月份", "month"],
    "value": ["数值", "value", "目标", "target", "金额", "amount", "目标值"],
    "stored": ["单独保存的合计", "totalskept"],
}
KIND_WORDS = {
    **dict.fromkeys(["unit", "单位", "org", "组织", "部门", "团队", "team", "orgunit"], "unit"),
    **dict.fromkeys(["person", "人员", "rep", "销售", "员工", "employee", "people", "个人"], "person"),
}
LEVEL_WORDS = {
    **dict.fromkeys(["target", "目标", "tgt"], "target"),
    **dict.fromkeys(["floor", "底线", "保底", "最低"], "floor"),
    **dict.fromkeys(["stretch", "挑战", "冲刺", "挑战目标"], "stretch"),
}
SHEET_LEVELS = {"目标": "target", "target": "target", "底线": "floor", "floor": "floor",
                "挑战": "stretch", "stretch": "stretch"}  # fmt: skip
EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
ZH_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
              "十一": 11, "十二": 12}  # fmt: skip
TOTAL_WORDS = {"合计", "总计", "全年", "全年合计", "年度合计", "年合计", "total", "year", "fy", "fullyear",
               "yeartotal", "sum"}  # fmt: skip
_YEAR_MONTH = re.compile(r"^(\d{4})\s*(?:[-/.年]\s*)?(\d{1,2})\s*月?$")
_M_MONTH = re.compile(r"^m(\d{1,2})$")
_ZH_MONTH = re.compile(r"^(\d{1,2}|[一二三四五六七八九十]{1,3})月(?:份)?$")
_QUARTER = re.compile(
    r"^(?:(?:fy)?(\d{4})(?:年|财年)?)?(?:q([1-4])|第?([1-4一二三四])季度?)(?:(?:fy)?(\d{4}))?$"
)
_HALF = re.compile(r"^(?:(?:fy)?(\d{4})(?:年|财年)?)?(?:h([12])|([上下])半年)(?:(?:fy)?(\d{4}))?$")
_LONG_PERIOD = re.compile(r"^(?:fy)?(\d{4})(?:-?(q|h)([1-4]))?$")


# --- periods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """The periods of a plan as a workbook lays them out."""

    period: Period
    months: list[Period]
    # (token, period): Q1..Q4 (fiscal), H1 and H2 (of a year; the export shows them only when
    # the plan stores half-year cells) and "Y" for the plan's whole period.
    subtotals: list[tuple[str, Period]]


def layout_of(plan: Plan) -> Layout:
    from salestarget.targets.services import plan_period

    period = plan_period(plan)
    months = period.children("month")
    subtotals = []
    if period.kind in ("year", "half"):
        year = Period("year", *_year_span(period.fiscal_year, period.start_month), period.start_month)
        year_quarters = year.children("quarter")
        for q in period.children("quarter"):
            subtotals.append((f"Q{year_quarters.index(q) + 1}", q))
    if period.kind == "year":
        subtotals += [(f"H{i}", half) for i, half in enumerate(period.children("half"), start=1)]
    subtotals.append(("Y", period))
    return Layout(period=period, months=months, subtotals=subtotals)


def _year_span(fy: int, start_month: int) -> tuple[dt.date, dt.date]:
    """First and last day of fiscal year ``fy`` (named by the calendar year it starts in)."""
    start = dt.date(fy, start_month, 1)
    return start, add_months(start, 12) - dt.timedelta(days=1)


def month_header(month: Period) -> str:
    return f"{month.start.year}-{month.start.month:02d}"


def subtotal_header(token: str, period: Period, lang: str) -> str:
    return WORDS[lang]["total"] if token == "Y" else period.label(lang)


def period_token(kind: str, start: dt.date, start_month: int) -> str:
    """A cell's period in the long CSV: 2027-01, 2027-Q1, 2027-H1, 2027 (fiscal years as the
    calendar names them); other kinds (weeks) as kind:start."""
    if kind == "month":
        return f"{start.year}-{start.month:02d}"
    if kind in ("quarter", "half", "year"):
        p = Period(kind, start, _end(kind, start), start_month)
        fy = p.fiscal_year
        if kind == "year":
            return str(fy)
        size = 3 if kind == "quarter" else 6
        index = (start.month - start_month) % 12 // size + 1
        return f"{fy}-{'Q' if kind == 'quarter' else 'H'}{index}"
    return f"{kind}:{start.isoformat()}"


def _end(kind: str, start: dt.date) -> dt.date:
    from salestarget.targets.models import period_end

    return period_end(kind, start)


# --- export ----------------------------------------------------------------------------


@dataclass
class ExportRow:
    kind: str  # "unit" or "person"
    code: str
    name: str
    depth: int
    unit_code: str  # a person's cell that names a unit too
    dims: tuple[str, str, str]  # product, region, segment codes ("" for none)
    sort: tuple = ()
    # (period kind, start) -> {level: value}
    cells: dict[tuple[str, dt.date], dict[str, int | None]] = field(default_factory=dict)


def _rows(plan: Plan, scenario) -> tuple[list[ExportRow], set[str], set[str]]:
    """The rows of the export (units depth-first, then people by code), which levels occur, and
    which dimension columns the cells use. Three queries, whatever the plan's size."""
    cells = list(
        TargetCell.objects.filter(scenario=scenario).values_list(
            "unit_id",
            "person_id",
            "product_id",
            "region_id",
            "segment_id",
            "period_kind",
            "period_start",
            "floor",
            "target",
            "stretch",
        )  # fmt: skip
    )
    unit_ids = {c[0] for c in cells if c[0]}
    units = {
        pk: (path, depth, code, name)
        for pk, path, depth, code, name in OrgUnit.objects.filter(pk__in=unit_ids).values_list(
            "pk", "path", "depth", "code", "name"
        )
    }
    people = dict(
        (pk, (code, name))
        for pk, code, name in Person.objects.filter(pk__in={c[1] for c in cells if c[1]}).values_list(
            "pk", "code", "name"
        )
    )
    dim_codes = [
        dict(model.objects.filter(pk__in={c[2 + i] for c in cells if c[2 + i]}).values_list("pk", "code"))
        for i, model in enumerate((Product, Region, Segment))
    ]
    rows: dict[tuple, ExportRow] = {}
    levels: set[str] = set()
    used: set[str] = set()
    for unit_id, person_id, *dims, kind, start, floor, target, stretch in cells:
        codes = tuple(dim_codes[i].get(d, "") if d else "" for i, d in enumerate(dims))
        for name, code in zip(DIMENSIONS, codes, strict=True):
            if code:
                used.add(name)
        if person_id:
            code, name = people[person_id]
            unit_code = units[unit_id][2] if unit_id else ""
            if unit_code:
                used.add("unit")
            sort = (1, code, unit_code, codes)
            row_key = ("person", person_id, unit_id, *dims)
            depth = 0
        else:
            path, depth, code, name = units[unit_id]
            unit_code = ""
            sort = (0, path, "", codes)
            row_key = ("unit", unit_id, None, *dims)
        row = rows.get(row_key)
        if row is None:
            row = rows[row_key] = ExportRow(
                kind=row_key[0], code=code, name=name, depth=depth, unit_code=unit_code, dims=codes, sort=sort
            )
        row.cells[(kind, start)] = {"target": target, "floor": floor, "stretch": stretch}
        if floor is not None:
            levels.add("floor")
        if stretch is not None:
            levels.add("stretch")
    ordered = sorted(rows.values(), key=lambda r: r.sort)
    return ordered, {"target", *levels}, used


def export_plan(plan: Plan, scenario=None, lang: str = "zh", fmt: str = "xlsx") -> bytes:
    """The plan's cells as an xlsx workbook (the planners' layout) or a long CSV (UTF-8 with BOM).

    ``scenario`` defaults to the plan's primary scenario; ``lang`` ("zh" or "en") is the language
    of the headers, sheet names and notes. The caller checks that the user may see the plan's
    cells (the CLI runs with full rights)."""
    lang = "en" if str(lang).lower().startswith("en") else "zh"
    if fmt not in ("xlsx", "csv"):
        raise ValueError(f"fmt must be 'xlsx' or 'csv', got {fmt!r}")
    scenario = scenario or plan.scenarios.get(is_primary=True)
    rows, levels, used = _rows(plan, scenario)
    layout = layout_of(plan)
    if fmt == "csv":
        return _export_csv(plan, rows, used, lang)
    return _export_xlsx(plan, scenario, rows, levels, used, layout, lang)


def _dim_columns(used: set[str]) -> list[str]:
    return [name for name in ("unit", *DIMENSIONS) if name in used]


def _text(value: int, places: int) -> str:
    """Minor units as exact text in the metric's unit: 123456 -> "1234.56"."""
    if not places:
        return str(value)
    sign = "-" if value < 0 else ""
    whole, rest = divmod(abs(value), 10**places)
    return f"{sign}{whole}.{rest:0{places}d}"


def _export_csv(plan: Plan, rows: list[ExportRow], used: set[str], lang: str) -> bytes:
    words = WORDS[lang]
    dims = _dim_columns(used)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            words["kind"],
            words["code"],
            words["name"],
            *(words[d] for d in dims),
            words["level"],
            words["period"],
            words["value"],
        ]  # fmt: skip
    )
    places = plan.metric.decimals
    start_month = layout_of(plan).period.start_month
    for row in rows:
        extra = {"unit": row.unit_code, **dict(zip(DIMENSIONS, row.dims, strict=True))}
        head = [words[f"{row.kind}_row"], row.code, row.name, *(extra[d] for d in dims)]
        for (kind, start), values in sorted(row.cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            token = period_token(kind, start, start_month)
            for level in LEVELS:
                if values[level] is not None:
                    writer.writerow(
                        [*map(spreadsheet_safe, head), words[level], token, _text(values[level], places)]
                    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _row_values(row: ExportRow, level: str, layout: Layout, shown: list) -> tuple[list, list, list[str]]:
    """(month values, subtotal values, subtotal tokens kept as cells) of one row and level."""
    months = [row.cells.get(("month", m.start), {}).get(level) for m in layout.months]
    subtotals, kept = [], []
    for token, period in shown:
        inside = [
            v for m, v in zip(layout.months, months, strict=True) if period.start <= m.start <= period.end
        ]
        stored = row.cells.get((period.kind, period.start), {}).get(level)
        present = [v for v in inside if v is not None]
        if stored is not None:
            subtotals.append(stored)
            if present:
                kept.append(token)
        else:
            subtotals.append(sum(present) if present else None)
    return months, subtotals, kept


def _export_xlsx(plan, scenario, rows, levels, used, layout: Layout, lang: str) -> bytes:
    import xlsxwriter

    words = WORDS[lang]
    metric = plan.metric
    places = metric.decimals
    dims = _dim_columns(used)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
    )
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    number = book.add_format({"num_format": "#,##0" + ("." + "0" * places if places else "")})
    subtotal = book.add_format(
        {"num_format": "#,##0" + ("." + "0" * places if places else ""), "bold": True, "bg_color": "#F7F7F7"}
    )
    scale = Decimal(10) ** places
    halves = any(kind == "half" for row in rows for kind, _start in row.cells)
    shown = [(t, p) for t, p in layout.subtotals if halves or not t.startswith("H")]
    kept_any = {
        level: any(_row_values(r, level, layout, shown)[2] for r in rows)
        for level in LEVELS
        if level in levels
    }
    for level in LEVELS:
        if level not in levels:
            continue
        sheet = book.add_worksheet(words[level])
        header = [words["kind"], words["code"], words["name"], *(words[d] for d in dims)]
        first_value = len(header)
        header += [month_header(m) for m in layout.months]
        header += [subtotal_header(t, p, lang) for t, p in shown]
        if kept_any[level]:
            header.append(words["stored"])
        for col, text in enumerate(header):
            sheet.write_string(0, col, text, bold)
        for r, row in enumerate(rows, start=1):
            extra = {"unit": row.unit_code, **dict(zip(DIMENSIONS, row.dims, strict=True))}
            texts = [words[f"{row.kind}_row"], row.code, ("  " * row.depth) + row.name]
            texts += [extra[d] for d in dims]
            for col, text in enumerate(texts):
                sheet.write_string(r, col, text)
            months, subtotals, kept = _row_values(row, level, layout, shown)
            col = first_value
            for values, fmt in ((months, number), (subtotals, subtotal)):
                for value in values:
                    if value is not None:
                        # The one float of the app's money: a number cell of the workbook. 15
                        # significant digits hold every value up to 10^13 in the metric's unit.
                        sheet.write_number(r, col, float(Decimal(value) / scale), fmt)
                    col += 1
            if kept:
                sheet.write_string(r, col, " ".join(kept))
        sheet.freeze_panes(1, first_value)
        sheet.set_column(0, 0, 8)
        sheet.set_column(1, 1, 14)
        sheet.set_column(2, 2, 22)
        if dims:
            sheet.set_column(3, first_value - 1, 12)
        sheet.set_column(first_value, len(header) - 1, 15)
        sheet.autofilter(0, 0, max(1, len(rows)), len(header) - 1)
    notes = book.add_worksheet(words["notes"])
    from django.utils import timezone

    unit = metric.unit + (f" ({places} decimals)" if lang == "en" and places else "")
    facts = [
        (words["plan"], plan.name),
        (words["metric"], metric.name_zh if lang == "zh" else metric.name_en),
        (words["period_label"], layout.period.label(lang)),
        (words["value_unit"], unit),
        (words["scenario"], scenario.name),
        (words["status"], plan.status),
        (words["exported"], timezone.localtime().strftime("%Y-%m-%d %H:%M")),
        ("", words["how"]),
    ]
    for r, (label, value) in enumerate(facts):
        notes.write_string(r, 0, label, bold if label else None)
        notes.write_string(r, 1, str(value))
    notes.set_column(0, 0, 16)
    notes.set_column(1, 1, 80)
    book.close()
    return out.getvalue()


# --- import ----------------------------------------------------------------------------


@dataclass
class PlanImportResult:
    """What an import did (or, for a dry run or a rejected file, would have done)."""

    plan_id: int
    filename: str = ""
    status: str = "applied"  # applied, dry_run, rejected
    rows_read: int = 0
    cells_written: int = 0
    cells_deleted: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, row, column: str, value, problem: Problem, sheet: str = "") -> None:
        """``sheet``: the sheet's name when the workbook has several (else ""): the column is
        then named as 底线!合计 (the sheet alone for an error of the whole row), so that every
        way of showing an error (the plan page, the command line, the API) names the sheet."""
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            where = f"{sheet}!{column}" if sheet and column else (column or sheet)
            entry = error_entry(row, where, value, problem)
            entry["sheet"] = sheet
            self.errors.append(entry)

    def as_dict(self) -> dict:
        """The CLI's ``--json`` and the API's answer; errors in the reader's language."""
        return {
            "plan": self.plan_id,
            "file": self.filename,
            "status": self.status,
            "rows_read": self.rows_read,
            "cells_written": self.cells_written,
            "cells_deleted": self.cells_deleted,
            "options": self.options,
            "error_count": self.error_count,
            "errors": [{**localised(e), "sheet": e.get("sheet", "")} for e in self.errors],
        }


@dataclass
class Resolver:
    """Codes -> ids, built once per import (one query per kind of record)."""

    people: PersonLookup
    units: dict[str, int]
    dims: dict[str, dict[str, int]]

    @classmethod
    def build(cls) -> Resolver:
        units: dict[str, int] = {}
        for pk, code in OrgUnit.objects.values_list("pk", "code"):
            units[code] = pk
            units.setdefault(code.casefold(), pk)
        dims = {}
        for name, model in zip(DIMENSIONS, (Product, Region, Segment), strict=True):
            codes: dict[str, int] = {}
            for pk, code in model.objects.values_list("pk", "code"):
                codes[code] = pk
                codes.setdefault(code.casefold(), pk)
            dims[name] = codes
        return cls(people=PersonLookup.of(Person.objects.all()), units=units, dims=dims)

    def unit(self, text: str) -> int | None:
        return self.units.get(text) or self.units.get(text.casefold())

    def owner(self, kind: str | None, text: str) -> tuple[str, int]:
        """("unit" | "person", id) of a row's code; a Problem when it names none or two."""
        if kind == "unit":
            pk = self.unit(text)
            if pk is None:
                raise Problem(gettext_noop("“%(value)s” is not the code of a unit."), value=text)
            return "unit", pk
        person = self.people.find(text)
        if person == AMBIGUOUS:
            raise self.people.ambiguity(text)
        if kind == "person":
            if person is None:
                raise Problem(
                    gettext_noop(
                        "“%(value)s” is not a known person (code, employee number, e-mail, national id "
                        "or name)."
                    ),
                    value=text,
                )
            return "person", person
        unit = self.unit(text)
        if person is not None and unit is not None:
            raise Problem(
                gettext_noop(
                    "“%(value)s” is both a unit's code and a person's: add a kind column (unit or person)."
                ),
                value=text,
            )
        if person is not None:
            return "person", person
        if unit is not None:
            return "unit", unit
        raise Problem(gettext_noop("“%(value)s” is neither a unit's code nor a known person."), value=text)

    def dimension(self, name: str, text: str) -> int:
        codes = self.dims[name]
        pk = codes.get(text) or codes.get(text.casefold())
        if pk is None:
            raise Problem(
                {
                    "product": gettext_noop("“%(value)s” is not the code of a product."),
                    "region": gettext_noop("“%(value)s” is not the code of a region."),
                    "segment": gettext_noop("“%(value)s” is not the code of a customer segment."),
                }[name],
                value=text,
            )
        return pk


class Amounts:
    """Cells -> integers in the metric's minor units, from the file's unit.

    A target is from 0 to MAX_MINOR_UNITS, the grid's and the API's rule (Whole(0, MAX_AMOUNT)):
    a negative one is refused, naming the value. Text may name its own unit as the pages show
    amounts, "1,234.56万", "0.5亿", "100元" (and full-width "１，２３４．５６万"): read exactly,
    whatever the file's unit, and refused when it holds more decimals than the metric keeps."""

    def __init__(self, places: int, unit: str):
        self.places = places
        self.multiplier = unit_multiplier(unit)
        self.factor = Decimal(10) ** places * self.multiplier

    def __call__(self, value) -> int | None:
        """None for no target ('-', 'NULL', '—', empty)."""
        if value is None:
            return None
        number, multiplier = value, self.multiplier
        if type(value) is str:
            text = value.strip()
            if text.casefold() in NO_TARGET:
                return None
            number, word = typed_amount(text)
            if looks_like_formula(number):
                raise Problem(
                    gettext_noop("“%(value)s” looks like a spreadsheet formula; formulas are refused."),
                    value=text,
                )
            if word is not None:
                multiplier = word
                if not number:
                    raise Problem(gettext_noop("“%(value)s” is not a number."), value=text)
        try:
            d = parse_decimal(number)
        except Problem as problem:
            if "value" in problem.params:
                problem.params["value"] = cell_text(value)  # as typed, with its 万 or 亿
            raise
        # Compared before scaling, so that an absurd exponent (1e999999) cannot overflow; the
        # limit is shown in the file's unit.
        limit = Decimal(MAX_MINOR_UNITS) / self.factor
        if d < 0:
            raise Problem(
                gettext_noop("“%(value)s” is negative: a target is from 0 to %(limit)s."),
                value=cell_text(value),
                limit=f"{limit:,}",
            )
        if d > Decimal(MAX_MINOR_UNITS) / (Decimal(10) ** self.places * multiplier):
            raise Problem(
                gettext_noop("“%(value)s” is out of range: a target is from 0 to %(limit)s."),
                value=cell_text(value),
                limit=f"{limit:,}",
            )
        minor = minor_units(d, self.places, multiplier)
        if minor is None:
            raise Problem(
                gettext_noop("“%(value)s” has more decimals than the metric keeps (%(places)s)."),
                value=cell_text(value),
                places=self.places,
            )
        return minor

    def agrees(self, cell, total: int) -> bool:
        """Whether a subtotal cell equals ``total``; a workbook's float is compared as a float
        (it holds 15 significant digits, so a larger sum cannot be written exactly)."""
        if isinstance(cell, float):
            return float(Decimal(total) / self.factor) == cell
        return self(cell) == total


def _month_of_header(text: str, layout: Layout) -> Period | None:
    key = header_key(text).replace("月份", "月")
    by_month = {m.start.month: m for m in layout.months}
    m = _YEAR_MONTH.match(text.strip()) or _YEAR_MONTH.match(key)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
        return next((p for p in layout.months if (p.start.year, p.start.month) == (year, month)), None)
    for pattern in (_M_MONTH, _ZH_MONTH):
        m = pattern.match(key)
        if m:
            raw = m.group(1)
            month = int(raw) if raw.isdigit() else ZH_NUMBERS.get(raw, 0)
            return by_month.get(month)
    for i, name in enumerate(EN_MONTHS):
        for word in (_FULL_EN_MONTHS[i], name):
            if key == word or (key.startswith(word) and key[len(word) :].isdigit()):
                return by_month.get(i + 1)
    return None


_FULL_EN_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip


def _subtotal_of_header(text: str, layout: Layout) -> str | None:
    key = header_key(text)
    tokens = dict(layout.subtotals)
    if (
        key in TOTAL_WORDS
        or key == header_key(layout.period.label("zh"))
        or key == header_key(layout.period.label("en"))
    ):
        return "Y"
    if key.endswith(("合计", "total")) and key not in tokens:
        return "Y"
    m = _QUARTER.match(key)
    if m:
        raw = m.group(2) or m.group(3)
        token = f"Q{int(raw) if raw.isdigit() else ZH_NUMBERS[raw]}"
        return token if token in tokens else None
    m = _HALF.match(key)
    if m:
        token = f"H{m.group(2) or (1 if m.group(3) == '上' else 2)}"
        return token if token in tokens else None
    return None


def _period_of_token(text: str, layout: Layout) -> Period | None:
    """A long layout's period: 2027-01 (or M01, 1月, Jan), 2027-Q1, 2027-H1, 2027, kind:start."""
    raw = cell_text(text)
    if ":" in raw:
        kind, _sep, start = raw.partition(":")
        try:
            day = dt.date.fromisoformat(start.strip())
            return Period(kind.strip(), day, _end(kind.strip(), day), layout.period.start_month)
        except (ValueError, KeyError):
            return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is not None:
        return next((m for m in layout.months if m.start == day), None)
    month = _month_of_header(raw, layout)
    if month is not None:
        return month
    key = header_key(raw)
    m = _LONG_PERIOD.match(key)
    if m:
        fy, letter, index = int(m.group(1)), m.group(2), m.group(3)
        year = Period("year", *_year_span(fy, layout.period.start_month), layout.period.start_month)
        if not letter:
            return year
        kind = "quarter" if letter == "q" else "half"
        parts = year.children(kind)
        n = int(index)
        return parts[n - 1] if n <= len(parts) else None
    return None


@dataclass
class Columns:
    """Where a sheet's fields are: field -> column index, month/subtotal columns."""

    fields: dict[str, int]
    months: list[tuple[int, Period]]
    subtotals: list[tuple[int, str]]
    long: bool
    headers: list[str]


def _index(headers: list[str], column: str) -> int | None:
    exact = {h: i for i, h in reversed(list(enumerate(headers))) if h}
    if column in exact:
        return exact[column]
    loose = {header_key(h): i for i, h in reversed(list(enumerate(headers))) if h}
    return loose.get(header_key(column))


def resolve_columns(headers: list[str], mapping: dict[str, str], layout: Layout) -> Columns:
    """The user's mapping on top of what the headers say. Mapping keys: kind, code, name, unit,
    product, region, segment, level, period, value, stored; months as M01..M12 (calendar
    months of the plan's period); subtotals as Q1..Q4 and total. An empty column un-maps."""
    fields: dict[str, int] = {}
    months: dict[int, Period] = {}
    subtotals: dict[int, str] = {}
    taken: set[int] = set()
    mapping = dict(mapping or {})
    explicit: dict[str, int | None] = {}
    for key, column in mapping.items():
        name = key.strip()
        if not column:
            explicit[name] = None
            continue
        i = _index(headers, column)
        if i is None:
            raise Problem(
                gettext_noop(
                    "The file has no column %(column)s (mapped to %(field)s); its columns are: %(columns)s."
                ),
                column=column,
                field=name,
                columns=", ".join(h for h in headers if h),
            )
        explicit[name] = i
    by_month = {m.start.month: m for m in layout.months}
    subtotal_tokens = dict(layout.subtotals)
    # Months and subtotals the mapping names (or un-maps): no header is guessed for them.
    settled_months: set[Period] = set()
    settled_tokens: set[str] = set()
    for name in explicit:
        m = re.fullmatch(r"[Mm](\d{1,2})", name)
        if m and int(m.group(1)) in by_month:
            settled_months.add(by_month[int(m.group(1))])
        elif name.casefold() in ("total", "y") or name.upper() in subtotal_tokens:
            settled_tokens.add("Y" if name.casefold() in ("total", "y") else name.upper())
    for name, i in explicit.items():
        if i is None:
            continue
        m = re.fullmatch(r"[Mm](\d{1,2})", name)
        if m:
            month = by_month.get(int(m.group(1)))
            if month is None:
                raise Problem(
                    gettext_noop("%(field)s is not a month of the plan's period %(period)s."),
                    field=name,
                    period=layout.period.label(_lang()),
                )
            months[i] = month
        elif name.upper() in subtotal_tokens or name.casefold() in ("total", "y"):
            subtotals[i] = "Y" if name.casefold() in ("total", "y") else name.upper()
        elif name in SYNONYMS:
            fields[name] = i
        else:
            raise Problem(
                gettext_noop(
                    "Unknown field %(field)s: use kind, code, name, unit, product, region, segment, level, "
                    "period, value, stored, M01..M12, Q1..Q4 or total."
                ),
                field=name,
            )
        taken.add(i)
    for name, words in SYNONYMS.items():
        if name in explicit:
            continue
        for i, header in enumerate(headers):
            if i not in taken and header and header_key(header) in words:
                fields[name] = i
                taken.add(i)
                break
    for i, header in enumerate(headers):
        if i in taken or not header:
            continue
        month = _month_of_header(header, layout)
        if month is not None:
            if month in settled_months:
                continue
            if month in months.values():
                raise Problem(
                    gettext_noop("Two columns are the month %(month)s: %(columns)s."),
                    month=month_header(month),
                    columns=", ".join(headers[j] for j, p in months.items() if p == month) + ", " + header,
                )
            months[i] = month
            continue
        token = _subtotal_of_header(header, layout)
        if token is not None and token not in subtotals.values() and token not in settled_tokens:
            subtotals[i] = token
    long = "period" in fields and "value" in fields and not months
    if "code" not in fields:
        raise Problem(
            gettext_noop(
                "No column holds the codes of units and people: map one, e.g. --map code=工号 "
                "(codes, employee numbers, e-mails or national ids)."
            )
        )
    if not long and not months and not subtotals:
        raise Problem(
            gettext_noop(
                "No column is a month (2027-01, M01, 1月, Jan) or a total, and there is no period and value "
                "column: map them, e.g. --map M01=Jan."
            )
        )
    return Columns(
        fields=fields,
        months=sorted(months.items()),
        subtotals=sorted(subtotals.items()),
        long=long,
        headers=headers,
    )


def _lang() -> str:
    from django.utils.translation import get_language

    return "en" if (get_language() or "").startswith("en") else "zh"


# A row's key: (owner kind, owner id, unit id of a person's cell, product, region, segment).
RowKey = tuple[str, int, int | None, int | None, int | None, int | None]


@dataclass
class Collected:
    """What the file says, before anything is written."""

    # (row key, period kind, start) -> {level: value}
    values: dict[tuple, dict[str, int]] = field(default_factory=dict)
    # (row key, period kind, start) present in the file, with or without a value, per level
    present: dict[str, set[tuple]] = field(default_factory=lambda: {lv: set() for lv in LEVELS})
    levels: set[str] = field(default_factory=set)
    # (cell key, level) -> where the file first gives it: (row, sheet label, column, raw cell)
    where: dict[tuple, tuple[int, str, str, object]] = field(default_factory=dict)
    # (cell key, level) of subtotals of months: written only where the scenario already holds
    # that level of a cell of that period.
    soft: set[tuple] = field(default_factory=set)
    # Rows refused, as (level, row key), (level, cell key) or (level, "row", number): a floor or
    # stretch whose target row was refused is not reported again as one without a target.
    refused: set[tuple] = field(default_factory=set)

    def refuse(self, level: str | None, key, number: int, period: Period | None = None) -> None:
        level = level or "target"
        if key is None:
            self.refused.add((level, "row", number))
        elif period is None:
            self.refused.add((level, key))
        else:
            self.refused.add((level, (key, period.kind, period.start)))

    def target_refused(self, cell_key: tuple, number: int) -> bool:
        return bool({("target", cell_key[0]), ("target", cell_key), ("target", "row", number)} & self.refused)


@dataclass(frozen=True)
class SheetRead:
    """The sheet being read: its name in errors ("" for a CSV or a workbook of one sheet) and
    its formula cells, {(row, index in the row's cells): "=formula"}."""

    label: str = ""
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)


def do_import_plan_workbook(
    user,
    plan: Plan,
    path,
    *,
    mapping: dict[str, str] | None = None,
    unit: str = "yuan",
    sheet: str | None = None,
    dry_run: bool = False,
    encoding: str | None = None,
) -> PlanImportResult:
    """Read targets from ``path`` (an export of :func:`export_plan`, or any wide or long layout
    with ``mapping`` {field: column}, guessed from the headers where not given) into the plan's
    primary scenario.

    ``unit`` is the unit of the file's values in the metric's unit (yuan, thousand, wan,
    million); a cell may name its own (1,234.56万, 0.5亿, 100元: :class:`Amounts`). ``sheet``
    reads that one sheet as the target level (default: the sheets named 目标/Target, 底线/Floor,
    挑战/Stretch, else the first). Cells of the periods the file names, for the rows it names,
    are replaced; other cells stay. Nothing is written when any row has an error (the result
    lists them, row by row, naming the sheet in a workbook of several) or on ``dry_run``.

    A formula cell (xlsx) in a column the import reads is an error, whether or not the file
    holds its result (:func:`_formula_cells` says why); the export writes numbers only.

    ``user`` None is the command line, which runs with full rights; anyone else needs
    :func:`~salestarget.targets.services.may_plan` (PermissionDenied). Only a draft plan takes
    an import (DomainError). A file that cannot be read raises :class:`Problem`."""
    from salestarget.targets.services import levels_of, may_plan

    if user is not None and not may_plan(user):
        raise PermissionDenied(
            gettext("Only those who look after the whole organisation may set up target plans.")
        )
    if plan.status != Plan.Status.DRAFT:
        raise DomainError(
            _("Only a draft plan takes an import; a plan in force changes through a change request.")
        )
    path = Path(path)
    result = PlanImportResult(plan_id=plan.pk, filename=path.name)
    layout = layout_of(plan)
    amounts = Amounts(plan.metric.decimals, unit)
    resolver = Resolver.build()
    collected = Collected()
    sheets, several = _sheets(path, sheet)
    result.options = {"unit": unit, "sheets": [], "mapping": {}}
    for name, level in sheets:
        with open_table(path, encoding=encoding, sheet=name) as table:
            label = (table.sheet or name or "") if several else ""
            try:
                columns = resolve_columns(table.headers, mapping or {}, layout)
            except Problem as problem:
                if not label:
                    raise
                raise Problem(
                    gettext_noop("Sheet %(sheet)s: %(reason)s"), sheet=label, reason=str(problem)
                ) from None
            result.options["format"] = table.format
            if table.encoding:
                result.options["encoding"] = table.encoding_label
            if name:
                result.options["sheets"].append(name)
            result.options["mapping"] = _mapping_report(columns)
            formulas = _formula_cells(path, table) if table.format == "xlsx" else {}
            reader = _read_long if columns.long else _read_wide
            read = SheetRead(label=label, formulas=formulas)
            reader(table.rows(), columns, level, layout, amounts, resolver, collected, result, read)
    levels = collected.levels or {"target"}
    cells = _cells(plan, collected, levels, result, levels_of)
    if result.error_count:
        result.status = "rejected"
        return result
    scenario = plan.scenarios.get(is_primary=True)
    from salestarget.targets.workflow import check_not_frozen

    # A planner's file covers the whole organisation: not while a unit's part awaits or has its
    # approval.
    check_not_frozen(plan, scenario.cells.all())
    with transaction.atomic():
        written, deleted = _write(scenario, collected, cells, user)
        result.cells_written, result.cells_deleted = written, deleted
        if dry_run:
            result.status = "dry_run"
            transaction.set_rollback(True)
    return result


def _sheets(path: Path, sheet: str | None) -> tuple[list[tuple[str | None, str]], bool]:
    """(sheet name, level) to read: the named sheet as the target, the level sheets of an
    export, or the first sheet; a CSV has one. And whether the file is a workbook of several
    sheets, whose errors name their sheet."""
    with path.open("rb") as f:
        magic = f.read(8)
    if not (magic.startswith(b"PK\x03\x04") or magic.startswith(b"\xd0\xcf\x11\xe0")):
        return [(sheet, "target")], False
    from salestarget.actuals.parsing import check_workbook

    check_workbook(path, sheet)
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        names = CalamineWorkbook.from_path(str(path)).sheet_names
    except (CalamineError, OSError, ValueError) as exc:
        raise Problem(
            gettext_noop("Cannot read the workbook (%(detail)s): the file may be damaged or truncated."),
            detail=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        ) from None
    several = len(names) > 1
    if sheet is not None:
        return [(sheet, "target")], several
    chosen = [(n, SHEET_LEVELS[header_key(n)]) for n in names if header_key(n) in SHEET_LEVELS]
    if not chosen:
        return [(None, "target")], several
    if len({level for _, level in chosen}) != len(chosen):
        raise Problem(
            gettext_noop(
                "The workbook has two sheets of one level: %(sheets)s. Keep one, or name it (--sheet)."
            ),
            sheets=", ".join(n for n, _ in chosen),
        )
    return chosen, several


# An element <f> (a cell's formula), with or without a namespace prefix.
_FORMULA_TAG = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]")


def _formula_cells(path: Path, table) -> dict[tuple[int, int], str]:
    """The formula cells of the xlsx sheet ``table`` reads: {(row number as the table gives it,
    index in the row's cells): "=formula"}; empty for a sheet without formulas (one pass over
    its XML, no parsing).

    Every formula is refused, with or without a result. The reader sees only the result the
    file stores: openpyxl stores none (the cell read as empty, "no target", deleted the month's
    target), xlsxwriter stores 0, and a script that changed the inputs leaves a stale one; only
    a spreadsheet program stores the right one, and the file does not say which wrote it. So a
    formula's stored result is never taken for the planner's figure: the error asks for the
    values instead (copy, paste as values), and a number is then exactly what the planner sees.
    The export writes numbers, never formulas. (An .xls file is still read as its stored
    results: the reader does not show the formulas of that older format.)"""
    import zipfile

    from salestarget.actuals.parsing import sheet_parts

    found: dict[tuple[int, int], str] = {}  # (sheet row, sheet column), from 1
    try:
        with zipfile.ZipFile(path) as z:
            for _label, info in sheet_parts(z, table.sheet):
                if _has_formula(z, info):
                    found.update(_formulas_in(z, info))
    except (zipfile.BadZipFile, OSError, ValueError, SyntaxError) as exc:
        raise Problem(
            gettext_noop("Cannot read the workbook (%(detail)s): the file may be damaged or truncated."),
            detail=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        ) from None
    if not found:
        return {}
    row_of, index_of = _reader_positions(path, table)
    return {(row_of(row), index_of(col)): formula for (row, col), formula in found.items()}


def _has_formula(z, info) -> bool:
    carry = b""
    with z.open(info) as part:
        while chunk := part.read(1 << 22):
            block = carry + chunk
            # A plain search first (fast); the pattern only where an <f or a prefixed :f is.
            if (b"<f" in block or b":f" in block) and _FORMULA_TAG.search(block):
                return True
            carry = chunk[-64:]
    return False


def _formulas_in(z, info) -> dict[tuple[int, int], str]:
    """{(row, column), from 1: "=formula"} of a worksheet part (rows and cells without a
    reference take the next position, as the reader places them; a shared formula's other
    cells show the first one's text)."""
    from xml.etree.ElementTree import XMLPullParser

    from salestarget.actuals.parsing import column_number

    found: dict[tuple[int, int], str] = {}
    shared: dict[str, str] = {}
    row = col = 0
    parser = XMLPullParser(events=("start", "end"))
    with z.open(info) as part:
        while chunk := part.read(1 << 20):
            parser.feed(chunk)
            for event, elem in parser.read_events():
                tag = elem.tag.rpartition("}")[2]
                if event == "start":
                    if tag == "row":
                        ref = elem.get("r")
                        row = int(ref) if ref and ref.isdigit() else row + 1
                        col = 0
                    continue
                if tag == "c":
                    ref = elem.get("r") or ""
                    letters = ref.rstrip("0123456789")
                    col = column_number(letters) if letters.isalpha() and letters.isascii() else col + 1
                    for child in elem:
                        if child.tag.rpartition("}")[2] != "f":
                            continue
                        text = child.text or ""
                        index = child.get("si")
                        if child.get("t") == "shared" and index is not None:
                            text = shared.setdefault(index, text) or text
                        found[(row, col)] = "=" + text
                    elem.clear()
                elif tag == "row":
                    elem.clear()
    parser.close()
    return found


def _reader_positions(path: Path, table):
    """(sheet row -> the table's row number, sheet column -> index in the row's cells), from 1.

    The reader (calamine) starts its rows and cells where the sheet's data starts, and the
    table numbers them from there: the offsets are read from the reader itself, and the row
    numbers are matched through the header row, which the table and this read find alike."""
    from python_calamine import CalamineWorkbook

    from salestarget.actuals.parsing import _find_header

    data = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(table.sheet)
    start_row, start_col = data.start or (0, 0)
    end_row, end_col = data.end or (0, 0)
    rows = list(data.iter_rows())
    # Rows (and cells) from the sheet's first row (column), or from where its data starts.
    first_row = 1 if len(rows) == end_row + 1 else start_row + 1
    first_col = 1 if rows and len(rows[0]) == end_col + 1 else start_col + 1
    header_index, _headers, _rest = _find_header(enumerate(rows))
    offset = table.header_row - (first_row + header_index)
    return (lambda row: row + offset), (lambda col: col - first_col)


def _mapping_report(columns: Columns) -> dict[str, str]:
    h = columns.headers
    out = {name: h[i] for name, i in columns.fields.items()}
    out.update({f"M{p.start.month:02d}": h[i] for i, p in columns.months})
    out.update({("total" if t == "Y" else t): h[i] for i, t in columns.subtotals})
    return out


def _cell(cells: list, i: int | None):
    return cells[i] if i is not None and i < len(cells) else None


FORMULA_CELL = gettext_noop(
    "“%(value)s” is a spreadsheet formula; formulas are refused: copy the cells and paste them as values."
)


def _without_formulas(number: int, cells: list, columns: Columns, sheet: SheetRead) -> tuple[list, list]:
    """The row's cells with its formula cells emptied, and a problem for each formula in a
    column the import reads (every field but the name, months and subtotals)."""
    if not sheet.formulas:
        return cells, []
    read = sorted(
        {i for name, i in columns.fields.items() if name != "name"}
        | {i for i, _ in columns.months}
        | {i for i, _ in columns.subtotals}
    )
    problems = []
    for i in read:
        formula = sheet.formulas.get((number, i))
        if formula is not None:
            problems.append((columns.headers[i], formula, Problem(FORMULA_CELL, value=formula)))
            if i < len(cells):
                cells = [*cells[:i], None, *cells[i + 1 :]]
    return cells, problems


def _merge(formula_problems: list, problems: list) -> list:
    """The formula problems first; no other problem of a formula's (emptied) column."""
    if not formula_problems:
        return problems
    columns = {column for column, _value, _problem in formula_problems}
    return [*formula_problems, *(p for p in problems if p[0] not in columns)]


def _row_key(cells: list, columns: Columns, resolver: Resolver) -> tuple[RowKey | None, list]:
    """The row's key, or None with the row's problems as (column, value, Problem)."""
    problems = []
    f = columns.fields
    h = columns.headers
    kind = None
    raw_kind = cell_text(_cell(cells, f.get("kind")))
    if raw_kind:
        kind = KIND_WORDS.get(header_key(raw_kind))
        if kind is None:
            problems.append(
                (
                    h[f["kind"]],
                    raw_kind,
                    Problem(gettext_noop("“%(value)s” is not unit or person."), value=raw_kind),
                )
            )
    code = cell_text(_cell(cells, f["code"]))
    owner = None
    if not code:
        problems.append((h[f["code"]], "", Problem(gettext_noop("A code is required."))))
    elif not problems:
        try:
            owner = resolver.owner(kind, code)
        except Problem as problem:
            problems.append((h[f["code"]], code, problem))
    unit_id = None
    unit_text = cell_text(_cell(cells, f.get("unit")))
    if unit_text:
        unit_id = resolver.unit(unit_text)
        if unit_id is None:
            problems.append(
                (
                    h[f["unit"]],
                    unit_text,
                    Problem(gettext_noop("“%(value)s” is not the code of a unit."), value=unit_text),
                )
            )
    dims = []
    for name in DIMENSIONS:
        text = cell_text(_cell(cells, f.get(name)))
        if not text:
            dims.append(None)
            continue
        try:
            dims.append(resolver.dimension(name, text))
        except Problem as problem:
            problems.append((h[f[name]], text, problem))
            dims.append(None)
    if problems or owner is None:
        return None, problems
    if owner[0] == "unit":
        unit_id = None
    return (owner[0], owner[1], unit_id, *dims), problems


def _read_wide(
    rows: Iterator, columns: Columns, level, layout, amounts, resolver, collected, result, sheet: SheetRead
):
    collected.levels.add(level)
    h = columns.headers
    tokens = dict(layout.subtotals)
    stored_col = columns.fields.get("stored")
    for number, cells in rows:
        cells, formulas = _without_formulas(number, cells, columns, sheet)
        if not formulas and all(c is None or cell_text(c) == "" for c in cells):
            continue
        result.rows_read += 1
        key, problems = _row_key(cells, columns, resolver)
        months: dict[Period, int | None] = {}
        where: dict[Period, tuple[str, object]] = {}
        # Months whose cell is refused (a formula, not a number): their subtotals are not
        # compared with the months that remain, which would only repeat the error.
        unread = {month for i, month in columns.months if (number, i) in sheet.formulas}
        for i, month in columns.months:
            raw = _cell(cells, i)
            where[month] = (h[i], raw)
            try:
                months[month] = amounts(raw)
            except Problem as problem:
                problems.append((h[i], raw, problem))
                unread.add(month)
        kept = set(cell_text(_cell(cells, stored_col)).upper().replace(",", " ").split())
        hard: list[tuple[Period, int | None]] = []
        soft: list[tuple[Period, int]] = []
        for i, token in columns.subtotals:
            raw = _cell(cells, i)
            try:
                value = amounts(raw)
            except Problem as problem:
                problems.append((h[i], raw, problem))
                continue
            period = tokens[token]
            where[period] = (h[i], raw)
            inside = [v for m, v in months.items() if period.start <= m.start <= period.end and v is not None]
            if any(period.start <= m.start <= period.end for m in unread):
                continue
            if value is not None and inside and not amounts.agrees(raw, sum(inside)):
                problems.append(
                    (
                        h[i],
                        raw,
                        Problem(
                            gettext_noop(
                                "%(column)s is %(value)s but its months add up to %(sum)s: correct the "
                                "months or the total."
                            ),
                            column=h[i],
                            value=cell_text(raw),
                            sum=_text(sum(inside) // amounts.multiplier, amounts.places)
                            if sum(inside) % amounts.multiplier == 0
                            else str(Decimal(sum(inside)) / amounts.factor),
                        ),
                    )
                )
                continue
            if not inside:
                hard.append((period, value))  # a quarter or year target of its own (or none)
            elif token in kept:
                hard.append((period, sum(inside)))
            else:
                # A subtotal of its months: a stored cell of that period, if any, follows them.
                soft.append((period, sum(inside)))
        problems = _merge(formulas, problems)
        if problems:
            for column, value, problem in problems:
                result.add_error(number, column, value, problem, sheet=sheet.label)
            collected.refuse(level, key, number)
            continue
        entries = [*months.items(), *hard]
        _collect(collected, key, entries, level, number, sheet, result, where)
        _collect(collected, key, soft, level, number, sheet, result, where, soft=True)


def _read_long(
    rows: Iterator, columns: Columns, level, layout, amounts, resolver, collected, result, sheet: SheetRead
):
    f, h = columns.fields, columns.headers
    for number, cells in rows:
        cells, formulas = _without_formulas(number, cells, columns, sheet)
        if not formulas and all(c is None or cell_text(c) == "" for c in cells):
            continue
        result.rows_read += 1
        key, problems = _row_key(cells, columns, resolver)
        row_level = level
        raw_level = cell_text(_cell(cells, f.get("level")))
        if raw_level:
            row_level = LEVEL_WORDS.get(header_key(raw_level))
            if row_level is None:
                problems.append(
                    (
                        h[f["level"]],
                        raw_level,
                        Problem(
                            gettext_noop("“%(value)s” is not target, floor or stretch."), value=raw_level
                        ),
                    )
                )
        raw_period = _cell(cells, f["period"])
        period = _period_of_token(raw_period, layout)
        if period is None or not (layout.period.start <= period.start and period.end <= layout.period.end):
            problems.append(
                (
                    h[f["period"]],
                    raw_period,
                    Problem(
                        gettext_noop(
                            "“%(value)s” is not a period of the plan (%(period)s), e.g. %(example)s."
                        ),
                        value=cell_text(raw_period),
                        period=layout.period.label(_lang()),
                        example=month_header(layout.months[0]),
                    ),
                )
            )
            period = None
        raw = _cell(cells, f["value"])
        value = None
        try:
            value = amounts(raw)
        except Problem as problem:
            problems.append((h[f["value"]], raw, problem))
        problems = _merge(formulas, problems)
        if problems:
            for column, cell, problem in problems:
                result.add_error(number, column, cell, problem, sheet=sheet.label)
            collected.refuse(row_level, key, number, period)
            continue
        collected.levels.add(row_level)
        where = {period: (h[f["value"]], raw)}
        _collect(collected, key, [(period, value)], row_level, number, sheet, result, where)


def _collect(collected: Collected, key, entries, level, number, sheet: SheetRead, result, where, soft=False):
    """``where``: period -> (column, raw cell) of the row, for the errors found later."""
    for period, value in entries:
        cell_key = (key, period.kind, period.start)
        if soft:
            collected.soft.add((cell_key, level))
        if cell_key in collected.present[level]:
            first_row, _first_sheet, _column, _raw = collected.where[(cell_key, level)]
            result.add_error(
                number,
                "",
                "",
                Problem(
                    gettext_noop("Row %(row)s repeats the row and period of row %(first)s (%(period)s)."),
                    row=number,
                    first=first_row,
                    period=period.label(_lang()),
                ),
                sheet=sheet.label,
            )
            return
        collected.present[level].add(cell_key)
        column, raw = where.get(period, ("", None))
        collected.where[(cell_key, level)] = (number, sheet.label, column, raw)
        if value is not None:
            collected.values.setdefault(cell_key, {})[level] = value


def _cells(plan, collected: Collected, levels: set[str], result, levels_of) -> dict[tuple, dict]:
    """(row key, kind, start) -> the cell's floor/target/stretch; a floor or stretch without a
    target (unless its target's row was refused already), and a stored total that disagrees
    with its months, are errors."""
    start_month = layout_of(plan).period.start_month
    out = {}
    for cell_key, values in collected.values.items():
        if "target" not in values:
            level = "floor" if "floor" in values else "stretch"
            row, sheet, column, raw = collected.where[(cell_key, level)]
            if not collected.target_refused(cell_key, row):
                result.add_error(
                    row,
                    column,
                    raw,
                    Problem(gettext_noop("A floor or stretch is given where there is no target.")),
                    sheet=sheet,
                )
            continue
        target = values["target"]
        derived = levels_of(plan, target)
        cell = {"target": target}
        for level in ("floor", "stretch"):
            if level in levels:
                cell[level] = values.get(level)
            else:
                # Not in the file: by the plan's factor, else as the cell had it.
                cell[level] = KEEP if derived[level] is None else derived[level]
        out[cell_key] = cell
    # A stored quarter or year that disagrees with the stored months of the file (long layouts).
    months: dict[tuple, list[tuple[dt.date, int]]] = {}
    for (key, kind, start), cell in out.items():
        if kind == "month":
            months.setdefault(key, []).append((start, cell["target"]))
    for (key, kind, start), cell in out.items():
        if kind in ("quarter", "half", "year") and key in months:
            end = _end(kind, start)
            inside = [v for d, v in months[key] if start <= d <= end]
            if inside and sum(inside) != cell["target"]:
                row, sheet, column, _raw = collected.where[((key, kind, start), "target")]
                result.add_error(
                    row,
                    column,
                    _text(cell["target"], plan.metric.decimals),
                    Problem(
                        gettext_noop(
                            "The %(period)s target %(value)s differs from the sum of its months, %(sum)s."
                        ),
                        period=period_token(kind, start, start_month),
                        value=_text(cell["target"], plan.metric.decimals),
                        sum=_text(sum(inside), plan.metric.decimals),
                    ),
                    sheet=sheet,
                )
    return out


def _write(scenario, collected: Collected, cells: dict[tuple, dict], user=None) -> tuple[int, int]:
    """Replace the cells of the periods present for the rows present: update the cells that
    stay, create the new ones, delete those the file leaves empty. One read of the scenario's
    cells and bulk writes (with history)."""
    present = collected.present["target"]
    existing = {}
    for cell in TargetCell.objects.filter(scenario=scenario).only(
        "id", "unit_id", "person_id", "product_id", "region_id", "segment_id",
        "period_kind", "period_start", "period_end", "floor", "target", "stretch",
    ):  # fmt: skip
        existing[(_key_of(cell), cell.period_kind, cell.period_start)] = cell
    update, create, delete = [], [], []
    for cell_key in present:
        old = existing.get(cell_key)
        new = cells.get(cell_key)
        if new is None:
            if old is not None:
                delete.append(old.pk)
            continue
        if old is None and (cell_key, "target") in collected.soft:
            continue
        for level in LEVELS:
            if (
                new[level] is KEEP
                or (cell_key, level) in collected.soft
                and getattr(old, level, None) is None
            ):
                new[level] = getattr(old, level, None)
        if old is not None:
            if (old.floor, old.target, old.stretch) != (new["floor"], new["target"], new["stretch"]):
                old.floor, old.target, old.stretch = new["floor"], new["target"], new["stretch"]
                update.append(old)
            continue
        (kind, owner, unit_id, product, region, segment), period_kind, start = cell_key
        create.append(
            TargetCell(
                scenario=scenario,
                unit_id=owner if kind == "unit" else unit_id,
                person_id=owner if kind == "person" else None,
                period_kind=period_kind,
                period_start=start,
                product_id=product,
                region_id=region,
                segment_id=segment,
                **new,
            )
        )
    _apply(scenario, create, update, delete, user)
    return len(update) + len(create), len(delete)


CELL_COLUMNS = (
    "scenario_id", "unit_id", "person_id", "period_kind", "period_start", "period_end",
    "product_id", "region_id", "segment_id", "floor", "target", "stretch", "locked", "source", "version",
)  # fmt: skip
HISTORY_COLUMNS = (
    "id", "period_kind", "period_start", "period_end", "floor", "target", "stretch",
    "scenario_id", "unit_id", "person_id", "product_id", "region_id", "segment_id",
    "locked", "source", "version",
)  # fmt: skip
CHUNK = 900  # ids per statement: under SQLite's oldest limit of 999 parameters


def _apply(scenario, create: list[TargetCell], update: list[TargetCell], delete: list[int], user) -> None:
    """The writes in plain SQL, each cell's history row written as django-simple-history writes
    it ('+', '~', '-': the cell's fields, the time, the user): the ORM's bulk_create spent 20 s
    compiling 120,000 rows (cells and their history) of a 5,000-rep plan."""
    from django.db import connection
    from django.utils import timezone

    table = TargetCell._meta.db_table
    history = TargetCell.history.model._meta.db_table
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    user_id = getattr(user, "pk", None)
    q = connection.ops.quote_name

    def note(ids: list[int], kind: str) -> None:
        for chunk in _chunks(ids, CHUNK):
            cursor.execute(
                f"INSERT INTO {q(history)} ({', '.join(map(q, HISTORY_COLUMNS))}, {q('history_date')}, "
                f"{q('history_change_reason')}, {q('history_type')}, {q('history_user_id')}) "
                f"SELECT {', '.join(map(q, HISTORY_COLUMNS))}, %s, NULL, %s, %s FROM {q(table)} "
                f"WHERE {q('id')} IN ({', '.join(['%s'] * len(chunk))})",
                [now, kind, user_id, *chunk],
            )

    with connection.cursor() as cursor:
        if delete:
            note(delete, "-")
            for chunk in _chunks(delete, CHUNK):
                cursor.execute(
                    f"DELETE FROM {q(table)} WHERE {q('id')} IN ({', '.join(['%s'] * len(chunk))})", chunk
                )
        if update:
            # An imported value is the planner's: a re-run of the decomposition keeps it, and a
            # grid open on the old value meets a newer version.
            cursor.executemany(
                f"UPDATE {q(table)} SET {q('floor')} = %s, {q('target')} = %s, {q('stretch')} = %s, "
                f"{q('source')} = %s, {q('version')} = {q('version')} + 1 WHERE {q('id')} = %s",
                [(c.floor, c.target, c.stretch, TargetCell.Source.IMPORT, c.pk) for c in update],
            )
            note([c.pk for c in update], "~")
        if create:
            cursor.execute(f"SELECT MAX({q('id')}) FROM {q(table)}")
            before = cursor.fetchone()[0] or 0
            rows = [
                (
                    scenario.pk,
                    c.unit_id,
                    c.person_id,
                    c.period_kind,
                    ops.adapt_datefield_value(c.period_start),
                    ops.adapt_datefield_value(c.period_end),
                    c.product_id,
                    c.region_id,
                    c.segment_id,
                    c.floor,
                    c.target,
                    c.stretch,
                    False,
                    TargetCell.Source.IMPORT,
                    1,
                )  # fmt: skip
                for c in create
            ]
            for chunk in _chunks(rows, 5000):
                cursor.executemany(
                    f"INSERT INTO {q(table)} ({', '.join(map(q, CELL_COLUMNS))}) "
                    f"VALUES ({', '.join(['%s'] * len(CELL_COLUMNS))})",
                    chunk,
                )
            # The new cells' ids: those above the largest before whose keys this import created
            # (a concurrent writer's cells of other scenarios or keys are left alone).
            created = {(c.unit_id, c.person_id, c.product_id, c.region_id, c.segment_id,
                        c.period_kind, c.period_start) for c in create}  # fmt: skip
            new_ids = [
                pk
                for pk, *key in TargetCell.objects.filter(scenario=scenario, pk__gt=before).values_list(
                    "pk",
                    "unit_id",
                    "person_id",
                    "product_id",
                    "region_id",
                    "segment_id",
                    "period_kind",
                    "period_start",
                )  # fmt: skip
                if tuple(key) in created
            ]
            note(new_ids, "+")


def _key_of(cell: TargetCell) -> RowKey:
    if cell.person_id:
        return ("person", cell.person_id, cell.unit_id, cell.product_id, cell.region_id, cell.segment_id)
    return ("unit", cell.unit_id, None, cell.product_id, cell.region_id, cell.segment_id)


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
