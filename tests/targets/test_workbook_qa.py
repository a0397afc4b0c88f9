"""QA of the plan import (`salestarget plan import`, the plan page's 导入, the API), as a
sales-operations planner with an Excel file:

1. a negative target is refused (row, column, value and why), nothing written;
2. a formula cell is refused as a formula, never read as "no target" (which deleted a target);
   in the app's own export it names its sheet, column and value, once;
3. every error of a multi-sheet workbook names its sheet;
4. amounts typed with 万 / 亿 / 元 (and full-width digits) are read exactly;
5. an export of a decomposed plan imports back unchanged without an error.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import TargetCell
from salestarget.targets.services import do_create_plan
from salestarget.targets.workbook import do_import_plan_workbook, export_plan

pytestmark = pytest.mark.django_db

MONTHS = [dt.date(2027, m, 1) for m in range(1, 13)]
YEAR = dt.date(2027, 1, 1)
HEADER = ["工号", "姓名", *[f"{m}月" for m in range(1, 13)]]


def new_plan(company, name="", **factors):
    return do_create_plan(
        company.admin,
        metric=Metric.objects.get(code="sales"),
        period=fiscal_calendar().year(2027),
        name=name,
        **factors,
    )


def primary(plan):
    return plan.scenarios.get(is_primary=True)


def snapshot(plan) -> set[tuple]:
    return set(
        TargetCell.objects.filter(scenario=primary(plan)).values_list(
            "unit_id", "person_id", "period_kind", "period_start", "floor", "target", "stretch"
        )
    )


def xlsx(sheets: dict[str, list[list]], formulas: dict[tuple[str, int, int], str] | None = None) -> bytes:
    """A workbook of ``sheets`` (rows of values); ``formulas`` {(sheet, row, col): "=1+1"} are
    written as openpyxl writes them: a formula without a cached value."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if (name, r, c) in (formulas or {}):
                    sheet.write_formula(r, c, formulas[(name, r, c)])
                elif value is not None:
                    sheet.write(r, c, value)
    book.close()
    return without_cached_values(out.getvalue())


def without_cached_values(data: bytes) -> bytes:
    """The workbook with the cached results of its formulas removed (xlsxwriter writes 0,
    openpyxl writes none)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                part = re.sub(rb"(</f>)<v>[^<]*</v>", rb"\1", part)
            target.writestr(info, part)
    return out.getvalue()


def replace_cell(data: bytes, sheet_part: str, ref: str, xml: str) -> bytes:
    """An exported workbook with the cell ``ref`` of ``sheet_part`` written as ``xml``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == sheet_part:
                pattern = rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)'
                part, n = re.subn(pattern, lambda _m: xml.encode(), part, count=1)
                assert n == 1, ref
            target.writestr(info, part)
    return out.getvalue()


def put_formula(data: bytes, sheet_part: str, ref: str, formula: str, cached: str | None = None) -> bytes:
    """The cell ``ref`` replaced by a formula, with ``cached`` as its result or none."""
    value = f"<v>{cached}</v>" if cached is not None else ""
    return replace_cell(data, sheet_part, ref, f'<c r="{ref}"><f>{formula}</f>{value}</c>')


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def errors_of(result, lang="zh-hans") -> list[dict]:
    with translation.override(lang):
        return result.as_dict()["errors"]


def rep_rows(company, may=None):
    """Three reps' rows of a planner's sheet: 1,000 yuan a month each, ``may`` in 5月 of the
    last."""
    rows = []
    for person in (company.rep_sh1, company.rep_sh2, company.rep_sz):
        rows.append([person.code, person.name, *[1000] * 12])
    if may is not None:
        rows[-1][2 + 4] = may
    return rows


# --- 1. negative targets ------------------------------------------------------------------


@pytest.mark.parametrize("may", [-100, "-100", "(100)", "-1,234.56万"])
def test_a_negative_target_is_refused_naming_row_column_value_and_why(company, tmp_path, may):
    plan = new_plan(company, floor_factor=Decimal("0.9"), stretch_factor=Decimal("1.2"))
    path = write(tmp_path, "plan.xlsx", xlsx({"Sheet1": [HEADER, *rep_rows(company, may)]}))
    result = do_import_plan_workbook(company.admin, plan, path)
    assert result.status == "rejected" and result.error_count == 1
    (error,) = errors_of(result, "en")
    assert (error["row"], error["column"]) == (4, "5月")
    assert error["value"] == ("-100" if isinstance(may, int) else may)
    assert error["reason"] == f"“{error['value']}” is negative: a target is from 0 to 10,000,000,000,000."
    (chinese,) = errors_of(result)  # its zh-Hans text comes with the translations
    assert chinese["value"] in chinese["reason"]
    assert snapshot(plan) == set()


def test_a_negative_subtotal_and_a_negative_long_value_are_refused(company, tmp_path):
    plan = new_plan(company)
    wide = write(tmp_path, "wide.csv", b"code,M01,Q1\nHQ,,-5\n")
    result = do_import_plan_workbook(company.admin, plan, wide)
    assert result.status == "rejected" and [(e["row"], e["column"]) for e in errors_of(result)] == [(2, "Q1")]
    long = write(tmp_path, "long.csv", b"code,period,value\nHQ,2027-01,1\nHQ,2027-02,-0.01\n")
    result = do_import_plan_workbook(company.admin, plan, long)
    assert result.status == "rejected" and [(e["row"], e["value"]) for e in errors_of(result)] == [
        (3, "-0.01")
    ]
    assert snapshot(plan) == set()


def test_zero_is_a_target_and_a_dash_is_none(company, tmp_path):
    plan = new_plan(company)
    path = write(tmp_path, "zero.csv", b"code,M01,M02,M03\nHQ,0,-,-0\n")
    result = do_import_plan_workbook(company.admin, plan, path)
    assert result.ok, errors_of(result)
    assert {(s, t) for _u, _p, _k, s, _f, t, _s in snapshot(plan)} == {(MONTHS[0], 0), (MONTHS[2], 0)}


# --- 2. formulas --------------------------------------------------------------------------


def test_a_formula_without_a_cached_value_is_refused_and_deletes_nothing(company, tmp_path):
    """openpyxl writes ``=1+1`` without a result: it reached the reader as an empty cell, "no
    target", and the import deleted that month's target without a word."""
    plan = new_plan(company)
    TargetCell.objects.create(
        scenario=primary(plan), person=company.rep_sz, period_kind="month", period_start=MONTHS[4], target=7
    )
    before = snapshot(plan)
    data = xlsx({"Sheet1": [HEADER, *rep_rows(company)]}, formulas={("Sheet1", 3, 6): "1+1"})
    path = write(tmp_path, "formula.xlsx", data)
    dry = do_import_plan_workbook(company.admin, plan, path, dry_run=True)
    assert dry.status == "rejected" and dry.cells_deleted == 0
    (error,) = errors_of(dry, "en")
    assert (error["row"], error["column"], error["value"]) == (4, "5月", "=1+1")
    assert "“=1+1” is a spreadsheet formula; formulas are refused" in error["reason"]
    result = do_import_plan_workbook(company.admin, plan, path)
    assert result.status == "rejected" and snapshot(plan) == before


@pytest.mark.parametrize("cached", ["0", "2"])
def test_a_formula_with_a_cached_value_is_refused_too(company, tmp_path, cached):
    """A cached result is whatever the last writer stored (xlsxwriter 0, a script a stale one):
    formulas are refused whatever they hold."""
    plan = new_plan(company)
    data = xlsx({"Sheet1": [HEADER, *rep_rows(company)]})
    data = put_formula(data, "xl/worksheets/sheet1.xml", "G4", "1+1", cached=cached)
    result = do_import_plan_workbook(company.admin, plan, write(tmp_path, "cached.xlsx", data))
    assert result.status == "rejected"
    assert [(e["row"], e["column"], e["value"]) for e in errors_of(result)] == [(4, "5月", "=1+1")]


def test_a_formula_below_blank_rows_and_right_of_blank_columns_is_found(company, tmp_path):
    """The sheet's data starts at C3: the formula is matched to the row and column the reader
    reports."""
    plan = new_plan(company)
    rows = [[None, None, *r] for r in [HEADER, *rep_rows(company)]]
    data = xlsx({"Sheet1": [[], [], *rows]}, formulas={("Sheet1", 4, 8): "A1*2"})
    result = do_import_plan_workbook(company.admin, plan, write(tmp_path, "offset.xlsx", data))
    assert result.status == "rejected"
    (error,) = errors_of(result)
    assert (error["column"], error["value"]) == ("5月", "=A1*2")
    assert snapshot(plan) == set()


def test_a_formula_in_a_code_column_is_refused_as_a_formula(company, tmp_path):
    plan = new_plan(company)
    data = xlsx({"Sheet1": [HEADER, *rep_rows(company)]}, formulas={("Sheet1", 1, 0): 'CONCAT("E","1")'})
    result = do_import_plan_workbook(company.admin, plan, write(tmp_path, "code.xlsx", data))
    assert [(e["row"], e["column"], e["value"]) for e in errors_of(result)] == [
        (2, "工号", '=CONCAT("E","1")')
    ]


def levelled_plan(company):
    """A plan with floor and stretch cells: its export has the sheets 目标, 底线, 挑战."""
    plan = new_plan(company, name="levels")
    cells = []
    for n, owner in enumerate([{"unit": company.hq}, {"unit": company.sh}, {"person": company.rep_sh1}]):
        for month in MONTHS:
            value = (n + 1) * 1_000_000 + month.month * 1_234
            cells.append(
                TargetCell(
                    scenario=primary(plan),
                    period_kind="month",
                    period_start=month,
                    target=value,
                    floor=value * 9 // 10,
                    stretch=value * 6 // 5,
                    **owner,
                )
            )
    TargetCell.objects.bulk_create(cells)
    return plan


def test_a_formula_in_the_apps_own_export_names_sheet_column_and_value_once(company, tmp_path):
    """It said only "填写了底线或挑战值，但没有对应的目标值。", once per floor and stretch
    cell, with no column, value or sheet."""
    plan = levelled_plan(company)
    before = snapshot(plan)
    data = export_plan(plan, lang="zh")
    # The 目标 sheet's third row (SH), its 2027-05 column (H): =1+1 with no cached value.
    data = put_formula(data, "xl/worksheets/sheet1.xml", "H3", "1+1")
    result = do_import_plan_workbook(company.admin, plan, write(tmp_path, "own.xlsx", data))
    assert result.status == "rejected"
    errors = errors_of(result, "en")
    assert len(errors) == 1, errors
    (error,) = errors
    assert error["row"] == 3 and error["value"] == "=1+1" and "formula" in error["reason"]
    assert error["column"] == "目标!2027-05" and error["sheet"] == "目标"
    assert snapshot(plan) == before


def test_a_floor_without_its_target_names_sheet_column_and_value(company, tmp_path):
    plan = levelled_plan(company)
    data = xlsx(
        {
            "目标": [["编码", "2027-01", "2027-02"], ["HQ", 10, None]],
            "底线": [["编码", "2027-01", "2027-02"], ["HQ", 9, 8]],
        }
    )
    result = do_import_plan_workbook(company.admin, plan, write(tmp_path, "floor.xlsx", data))
    (error,) = errors_of(result)
    assert (error["row"], error["column"], error["value"], error["sheet"]) == (2, "底线!2027-02", "8", "底线")


# --- 3. errors name their sheet -----------------------------------------------------------


def test_every_error_of_a_multi_sheet_workbook_names_its_sheet(company, tmp_path):
    plan = levelled_plan(company)
    data = export_plan(plan, lang="zh")
    # 底线: the SH row's total off its months; 挑战: HQ's January not a number.
    data = replace_cell(data, "xl/worksheets/sheet2.xml", "T3", '<c r="T3"><v>1.5</v></c>')
    data = replace_cell(
        data, "xl/worksheets/sheet3.xml", "D2", '<c r="D2" t="inlineStr"><is><t>abc</t></is></c>'
    )
    path = write(tmp_path, "sheets.xlsx", data)
    result = do_import_plan_workbook(company.admin, plan, path)
    errors = errors_of(result)
    assert sorted((e["sheet"], e["row"], e["column"]) for e in errors) == [
        ("底线", 3, "底线!合计"),
        ("挑战", 2, "挑战!2027-01"),
    ]
    floor = next(e for e in errors if e["sheet"] == "底线")
    assert "1.5" in floor["reason"] and floor["value"] == "1.5"
    # The command line, the API and the page say it too.
    with pytest.raises(CommandError):
        call_command("plan", "import", str(plan.pk), str(path), stdout=io.StringIO(), stderr=io.StringIO())
    answer = json.loads(_command_json(plan, path))
    assert {e["sheet"] for e in answer["errors"]} == {"底线", "挑战"}


def _command_json(plan, path, *options) -> str:
    out = io.StringIO()
    try:
        call_command(
            "plan", "import", str(plan.pk), str(path), "--json", *options, stdout=out, stderr=io.StringIO()
        )
    except CommandError:  # rejected: the JSON was printed before
        pass
    return out.getvalue()


def test_the_api_answers_the_sheet(client, company, tmp_path):
    plan = levelled_plan(company)
    data = put_formula(export_plan(plan, lang="zh"), "xl/worksheets/sheet3.xml", "E2", "1+1")
    client.force_login(company.admin)
    handle = io.BytesIO(data)
    handle.name = "plan.xlsx"
    response = client.post(f"/api/v1/targets/plans/{plan.pk}/import", {"file": handle, "unit": "yuan"})
    assert response.status_code == 400, response.content[:500]
    (error,) = response.json()["errors"]
    assert error["sheet"] == "挑战" and error["column"] == "挑战!2027-02" and error["value"] == "=1+1"


def test_the_plan_page_names_the_sheet(client, company):
    plan = levelled_plan(company)
    data = replace_cell(
        export_plan(plan, lang="zh"), "xl/worksheets/sheet2.xml", "T3", '<c r="T3"><v>1.5</v></c>'
    )
    handle = io.BytesIO(data)
    handle.name = "plan.xlsx"
    client.force_login(company.admin)
    page = client.post(f"/targets/plans/{plan.pk}/import/", {"file": handle}, follow=True).content.decode()
    assert "底线!合计" in page and "1.5" in page


def test_a_sheet_without_a_code_column_is_named(company, tmp_path):
    plan = levelled_plan(company)
    data = xlsx({"目标": [["编码", "2027-01"], ["HQ", 10]], "底线": [["谁", "2027-01"], ["HQ", 9]]})
    path = write(tmp_path, "nocode.xlsx", data)
    from salestarget.actuals.parsing import Problem

    with translation.override("zh-hans"), pytest.raises(Problem) as refused:
        do_import_plan_workbook(company.admin, plan, path)
    assert "底线" in str(refused.value)


# --- 4. 万 / 亿 / 元 typed in a cell -------------------------------------------------------


def test_amounts_typed_with_wan_yi_or_yuan_are_read_exactly(company, tmp_path):
    plan = new_plan(company)
    cells = ["1,234.56万", "0.5亿", "100元", "１，２３４．５６万", "1.5万元", " 12.34 ", "¥1.2万"]
    header = ",".join(["code", *[f"M{m:02d}" for m in range(1, len(cells) + 1)]])
    text = header + "\n" + ",".join(["HQ", *[f'"{c}"' for c in cells]]) + "\n"
    path = write(tmp_path, "wan.csv", text.encode("utf-8"))
    result = do_import_plan_workbook(company.admin, plan, path, unit="wan")
    assert result.ok, errors_of(result)
    values = dict(TargetCell.objects.filter(scenario=primary(plan)).values_list("period_start", "target"))
    assert [values[m] for m in MONTHS[: len(cells)]] == [
        1_234_560_000,  # 1,234.56万 yuan
        5_000_000_000,  # 0.5亿
        10_000,  # 100元, whatever the file's unit
        1_234_560_000,
        1_500_000,
        12_340_000,  # 12.34 in the file's unit: 123,400 yuan
        1_200_000,
    ]


def test_more_decimals_than_fen_after_wan_is_an_error_naming_the_value(company, tmp_path):
    plan = new_plan(company)
    path = write(tmp_path, "fine.csv", "code,M01,M02\nHQ,1.234567万,1.2345678万\n".encode())
    result = do_import_plan_workbook(company.admin, plan, path)
    (error,) = errors_of(result)
    assert (error["column"], error["value"]) == ("M02", "1.2345678万") and "1.2345678万" in error["reason"]
    assert snapshot(plan) == set()


# --- 5. the round trip of a decomposed plan -------------------------------------------------


def test_a_decomposed_plan_exports_and_imports_back_unchanged(company, sales, tmp_path, capsys):
    from salestarget.targets import decomposition as D
    from tests.targets.test_decomposition import RULES, make_plan

    plan, scenario = make_plan(company)
    plan.floor_factor, plan.stretch_factor = Decimal("0.9"), Decimal("1.2")
    plan.save()
    D.do_decompose(company.admin, scenario, D.Rules.from_json(RULES))
    before = snapshot(plan)
    out = tmp_path / "plan.xlsx"
    call_command("plan", "export", str(plan.pk), str(out))
    answer = json.loads(_command_json(plan, out, "--dry-run"))
    errors = answer["errors"]
    assert answer["error_count"] == 0, errors[:5]  # floor and stretch add up like the targets
    assert answer["cells_deleted"] == 0
    call_command("plan", "import", str(plan.pk), str(out), stdout=io.StringIO())
    assert snapshot(plan) == before
