"""A corpus of broken files, generated here: each gets its own clear error and writes nothing
but the record of the rejected attempt."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from salestarget.actuals.importers import localised
from salestarget.actuals.models import ImportBatch
from salestarget.actuals.services import do_import_facts
from tests.actuals.conftest import csv_bytes, footprint

pytestmark = pytest.mark.django_db

HEADER = ["订单号", "日期", "销售员", "客户编码", "金额"]


def good(rep: str, n: int = 1) -> list[str]:
    return [f"SO{n}", "2024-03-01", rep, "", "100.00"]


def xlsx_bytes() -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for r in range(200):
        sheet.write_row(r, 0, [f"SO{r}", "2024-03-01", "x", "", 100 + r])
    book.close()
    return out.getvalue()


def corpus(rep: str) -> dict[str, tuple[bytes, dict, str]]:
    """name -> (file content, import options, expected error fragment)."""
    return {
        "bad date": (
            csv_bytes([HEADER, good(rep), ["SO2", "2024-02-30", rep, "", "1"]]),
            {},
            "“2024-02-30” is not a valid date",
        ),
        "text in amount": (
            csv_bytes([HEADER, ["SO1", "2024-03-01", rep, "", "一百元"]]),
            {},
            "“一百元” is not a number",
        ),
        "unknown person": (
            csv_bytes([HEADER, ["SO1", "2024-03-01", "王五", "", "1"]]),
            {},
            "“王五” is not a known person",
        ),
        "duplicate key": (
            csv_bytes([HEADER, good(rep), good(rep)]),
            {},
            "appears twice in the file (rows 2 and 3)",
        ),
        "truncated row": (
            csv_bytes([HEADER, good(rep), ["SO2", "2024-03"]], newline_at_end=False),
            {},
            "it looks truncated",
        ),
        "truncated quote": (
            csv_bytes([HEADER, good(rep)]) + b'SO3,2024-03-01,"' + rep.encode(),
            {},
            "ends inside a quoted value",
        ),
        "truncated workbook": (xlsx_bytes()[:1500], {}, "Cannot read the workbook"),
        "empty file": (b"", {}, "The file is empty."),
        "header only": (csv_bytes([HEADER]), {}, "a header but no data rows"),
        "wrong encoding named": (
            csv_bytes([HEADER, good(rep), ["SO2", "2024-03-01", rep, "", "张三"]], "gbk"),
            {"encoding": "utf-8"},
            "cannot be read as UTF-8",
        ),
        "unknown encoding": (
            b"id,date,customer,amount\r\nSO1,2024-03-01,Caf\xe9,1\r\n",
            {},
            "Cannot tell the file's encoding",
        ),
        "formula in a text cell": (
            csv_bytes([HEADER, ["SO1", "2024-03-01", rep, "=cmd|' /C calc'!A0", "1"]]),
            {},
            "looks like a spreadsheet formula",
        ),
        "formula in an amount": (
            csv_bytes([HEADER, ["SO1", "2024-03-01", rep, "", "+cmd|' /C calc'!A0"]]),
            {},
            "looks like a spreadsheet formula",
        ),
        "formula as a person": (
            csv_bytes([HEADER, ["SO1", "2024-03-01", "@SUM(1+1)", "", "1"]]),
            {},
            "looks like a spreadsheet formula",
        ),
        "formula as a key": (
            csv_bytes([HEADER, ["-2+3+cmd|' /C calc'!A0", "2024-03-01", rep, "", "1"]]),
            {},
            "looks like a spreadsheet formula",
        ),
        "unmapped column": (
            csv_bytes([HEADER, good(rep)]),
            {"mapping": {"amount": "Betrag"}},
            "The file has no column Betrag",
        ),
        "ambiguous dates": (
            csv_bytes([HEADER, ["SO1", "03/01/24", rep, "", "1"]]),
            {},
            # The same words on the import page and the command line: both ways to choose (QA: the
            # page named only --date-format).
            "(Date format on the import page, --date-format on the command line)",
        ),
    }


@pytest.fixture
def broken(tmp_path, company):
    files = {}
    for name, (content, options, fragment) in corpus(company.rep_sh1.code).items():
        path = tmp_path / (name.replace(" ", "_") + (".xlsx" if "workbook" in name else ".csv"))
        path.write_bytes(content)
        files[name] = (path, options, fragment)
    return files


@pytest.mark.parametrize("name", sorted(corpus("P")))
def test_each_broken_file_is_rejected_with_its_reason(broken, company, name):
    path, options, fragment = broken[name]
    before = footprint()
    result = do_import_facts(company.admin, path, "order", **options)
    text = " | ".join(localised(e)["reason"] for e in result.errors)
    assert result.status == "rejected", name
    assert fragment in text, text
    assert footprint() == before
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert batch.status == ImportBatch.Status.REJECTED and batch.error_count >= 1 and batch.rows_written == 0


def test_the_command_line_fails_loudly_on_a_broken_file(broken):
    path, _options, _fragment = broken["duplicate key"]
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported: 1 error."):
        call_command("import", "order", str(path), stdout=io.StringIO(), stderr=err)
    assert "row 3" in err.getvalue() and "appears twice" in err.getvalue()


def test_a_row_with_several_problems_names_every_one(tmp_path, company):
    """One pass through the error report must be enough to fix a row."""
    rep = company.rep_sh1.code
    rows = [
        HEADER,
        good(rep),
        ["SO1", "2024-02-30", "王五", "=HYPERLINK(1)", "一百元"],
        ["SO3", "2024-03-02", rep, "", "12"],
    ]
    path = tmp_path / "several.csv"
    path.write_bytes(csv_bytes(rows))
    before = footprint()
    result = do_import_facts(company.admin, path, "order")
    assert result.status == "rejected" and footprint() == before
    found = [(e["row"], localised(e)["column"], localised(e)["reason"]) for e in result.errors]
    assert [(row, column) for row, column, _reason in found] == [
        (3, "日期"),
        (3, "金额"),
        (3, "销售员"),
        (3, "客户编码"),
        (3, "订单号"),
    ], found
    assert "appears twice in the file (rows 2 and 3)" in found[-1][2]
    assert result.error_count == 5


def test_later_problems_of_a_row_use_what_its_earlier_columns_gave(tmp_path, company):
    """With --create-missing a new person and customer are made from the row; when the row's
    amount fails, the checks after it still run and the whole batch still writes nothing."""
    path = tmp_path / "create.csv"
    path.write_bytes(csv_bytes([HEADER, ["SO1", "2024-03-01", "新人甲", "C-NEW", "abc"]]))
    before = footprint()
    result = do_import_facts(company.admin, path, "order", create_missing=True)
    assert [localised(e)["column"] for e in result.errors] == ["金额"]
    assert footprint() == before
