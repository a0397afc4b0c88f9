"""Issue 10, files and numbers: every bad input is refused cleanly — a row error or a file
error naming what is wrong, nothing stored, never a traceback, an abort or a memory blow-up.

The hostile files are built here, small: limits are lowered through the settings where a
realistic file would be large."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salestarget.actuals.importers import localised
from salestarget.actuals.models import Fact, ImportBatch
from salestarget.actuals.parsing import (
    MAX_MINOR_UNITS,
    Problem,
    looks_like_formula,
    open_table,
    parse_decimal,
    parse_whole,
)
from salestarget.actuals.services import do_import_facts
from salestarget.catalog.models import Customer
from tests.actuals.conftest import csv_bytes, footprint, write_csv

HEADER = ["订单号", "日期", "销售员", "客户编码", "数量", "毛利", "金额"]


def row(rep: str, n: int = 1, *, date="2024-03-01", qty="1", profit="", amount="100.00", customer=""):
    return [f"SO{n}", date, rep, customer, qty, profit, amount]


def reasons(result) -> list[tuple]:
    return [
        (e["row"], localised(e)["column"], localised(e)["value"], localised(e)["reason"])
        for e in result.errors
    ]


def rejected_cleanly(result, before: dict) -> str:
    """The result is a rejection that stored nothing; returns its reasons as one text."""
    assert result.status == "rejected", reasons(result)
    assert footprint() == before
    assert not ImportBatch.objects.filter(status=ImportBatch.Status.APPLIED).exists()
    return " | ".join(localised(e)["reason"] for e in result.errors)


def run_cli(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- 1. numbers out of range -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [
        ("amount", "1e18"),
        ("amount", "1e308"),
        ("amount", "1e17"),
        ("amount", "90000000000000000"),
        ("amount", "1e999999"),
        ("amount", "-10000000000000.01"),
        ("profit", "1e16"),
        ("quantity", "1e16"),
        ("quantity", "1000000000000001"),
    ],
)
def test_a_number_beyond_the_bound_is_a_row_error(tmp_path, company, field, value):
    rep = company.rep_sh1.code
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes([HEADER, row(rep), row(rep, 2, **{field.replace("quantity", "qty"): value})]))
    before = footprint()
    result = do_import_facts(None, path, "order")
    text = rejected_cleanly(result, before)
    (error,) = reasons(result)
    column = {"amount": "金额", "profit": "毛利", "quantity": "数量"}[field]
    assert error[:3] == (3, column, value), error
    assert "out of range" in text and "±" in text, text


@pytest.mark.django_db
def test_the_bound_itself_is_accepted_in_every_unit(tmp_path, company):
    rep = company.rep_sh1.code
    limit_yuan = MAX_MINOR_UNITS // 100
    path = tmp_path / "edge.csv"
    path.write_bytes(
        csv_bytes(
            [
                HEADER,
                row(rep, 1, amount=str(limit_yuan), profit=f"-{limit_yuan}", qty=str(MAX_MINOR_UNITS)),
                row(rep, 2, amount="-1", qty=f"-{MAX_MINOR_UNITS}"),
            ]
        )
    )
    result = do_import_facts(None, path, "order")
    assert result.status == "applied", reasons(result)
    assert Fact.objects.get(external_id="SO1").amount == MAX_MINOR_UNITS
    path.write_bytes(csv_bytes([HEADER, row(rep, 3, amount=str(limit_yuan // 10000 + 1))]))
    result = do_import_facts(None, path, "order", unit="wan")
    assert result.status == "rejected" and "±1,000,000,000" in reasons(result)[0][3]


@pytest.mark.django_db
def test_the_error_path_applies_the_same_bound(tmp_path, company):
    """A row that already failed on its date still reports its amount, profit and quantity."""
    rep = company.rep_sh1.code
    path = tmp_path / "both.csv"
    path.write_bytes(
        csv_bytes([HEADER, row(rep, date="2024-02-30", amount="1e18", profit="1e300", qty="1e20")])
    )
    result = do_import_facts(None, path, "order")
    found = [(r, c) for r, c, _v, reason in reasons(result) if "out of range" in reason]
    assert found == [(2, "金额"), (2, "毛利"), (2, "数量")], reasons(result)


@pytest.mark.django_db
def test_the_command_line_reports_an_overflow_as_a_row_error(tmp_path, company):
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes([HEADER, row(company.rep_sh1.code, amount="1e308")]))
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported: 1 error."):
        call_command("import", "order", str(path), stdout=io.StringIO(), stderr=err)
    assert "row 2 [金额]" in err.getvalue() and "out of range" in err.getvalue()
    assert not Fact.objects.exists()


@pytest.mark.parametrize("text", ["1_000", "1_000.50", "(1_0)", " 1_0 "])
def test_underscores_are_not_digit_separators(text):
    with pytest.raises(Problem, match="is not a number"):
        parse_decimal(text)
    with pytest.raises(Problem, match="is not a number"):
        parse_whole(text)


@pytest.mark.django_db
def test_underscores_are_refused_by_the_import(tmp_path, company):
    rep = company.rep_sh1.code
    path = tmp_path / "under.csv"
    path.write_bytes(csv_bytes([HEADER, row(rep, amount="1_000"), row(rep, 2, qty="1_0")]))
    result = do_import_facts(None, path, "order")
    assert [(r, c) for r, c, _v, _reason in reasons(result)] == [(2, "金额"), (3, "数量")]
    assert all("is not a number" in reason for *_x, reason in reasons(result))


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789eE+-._,()¥$ 元万", max_size=30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
    )
)
def test_parsing_a_number_raises_nothing_but_a_problem(value):
    for parse, kind in ((parse_decimal, Decimal), (parse_whole, int)):
        try:
            got = parse(value)
        except Problem as problem:
            str(problem)
        else:
            assert type(got) is kind


# --- 7. dates ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["00/00/00", "13/13/24", "0/0/2024", "32/13/24"])
def test_every_date_error_names_its_row(tmp_path, company, value):
    rep = company.rep_sh1.code
    path = tmp_path / "dates.csv"
    path.write_bytes(csv_bytes([HEADER, row(rep), row(rep, 2, date=value)]))
    result = do_import_facts(None, path, "order")
    assert result.status == "rejected"
    assert [(r, c, v) for r, c, v, _reason in reasons(result)] == [(3, "日期", value)], reasons(result)
    assert "is not a valid date" in reasons(result)[0][3]


# --- 4. formulas -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["+cmd", "+cmd|' /C calc'!A0", "-cmd", "@home", "- Clearance (50% off)", "=1"]
)
def test_text_starting_with_a_formula_sign_is_a_formula(text):
    assert looks_like_formula(text)


@pytest.mark.parametrize(
    "text", ["-12.5", "+86 138 0000 0000", "+86-21-5555-0100", "-¥12", "-", "+", "a+b", "张三"]
)
def test_numbers_and_plain_text_are_not_formulas(text):
    assert not looks_like_formula(text)


@pytest.mark.django_db
def test_plus_cmd_is_refused_and_signed_numbers_are_read(tmp_path, company):
    rep = company.rep_sh1.code
    path = tmp_path / "plus.csv"
    path.write_bytes(csv_bytes([HEADER, row(rep, customer="+cmd")]))
    before = footprint()
    result = do_import_facts(None, path, "order", create_missing=True)
    assert "looks like a spreadsheet formula" in rejected_cleanly(result, before)
    assert not Customer.objects.filter(code="+cmd").exists()
    path.write_bytes(csv_bytes([HEADER, row(rep, 1, amount="+86"), row(rep, 2, amount="-12.5")]))
    result = do_import_facts(None, path, "order")
    assert result.status == "applied", reasons(result)
    assert sorted(Fact.objects.values_list("amount", flat=True)) == [-1250, 8600]


# --- 5. duplicated headers ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_mapped_header_that_appears_twice_is_refused(tmp_path, company):
    path = tmp_path / "dup.csv"
    rep = company.rep_sh1.code
    path.write_bytes(
        csv_bytes([["Order ID", "Date", "Person", "Sales", "Sales"], ["SO1", "2024-03-01", rep, "1", "2"]])
    )
    before = footprint()
    result = do_import_facts(None, path, "order")
    text = rejected_cleanly(result, before)
    assert "Sales" in text and "appears twice" in text and "4 (D)" in text and "5 (E)" in text, text
    result = do_import_facts(None, path, "order", mapping={"amount": "Sales"})
    assert "appears twice" in rejected_cleanly(result, before)


@pytest.mark.django_db
def test_a_duplicated_header_that_is_not_used_is_fine(tmp_path, company):
    path = tmp_path / "dup.csv"
    rep = company.rep_sh1.code
    path.write_bytes(
        csv_bytes(
            [
                ["Order ID", "Date", "Person", "Note", "Sales", "Note"],
                ["SO1", "2024-03-01", rep, "a", "1", "b"],
            ]
        )
    )
    result = do_import_facts(None, path, "order")
    assert result.status == "applied", reasons(result)


# --- 3. encodings ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_utf8_file_with_one_gbk_line_is_refused_naming_the_line(tmp_path, company):
    rep = company.rep_sh1.code
    good = csv_bytes([HEADER, row(rep, 1, customer="上海客户"), row(rep, 2, customer="北京客户")])
    bad = csv_bytes([row(rep, 3, customer="广州客户")], encoding="gbk")
    path = tmp_path / "mixed.csv"
    path.write_bytes(good + bad + csv_bytes([row(rep, 4, customer="深圳客户")]))
    before = footprint()
    result = do_import_facts(None, path, "order", create_missing=True)
    text = rejected_cleanly(result, before)
    assert "Line 4 is not UTF-8" in text and "save the file as UTF-8" in text, text
    # A user who names the encoding gets what they asked for: here, a row-level decoding error.
    result = do_import_facts(None, path, "order", encoding="utf-8", create_missing=True)
    assert "Row 4 cannot be read as UTF-8" in rejected_cleanly(result, before)


@pytest.mark.django_db
def test_a_pure_gbk_file_is_still_read_as_gb18030(tmp_path, company):
    rep = company.rep_sh1.code
    path = tmp_path / "gbk.csv"
    path.write_bytes(csv_bytes([HEADER] + [row(rep, n, customer=f"客户{n}") for n in range(1, 40)], "gbk"))
    result = do_import_facts(None, path, "order", create_missing=True)
    assert result.status == "applied" and result.options["encoding"] == "GBK/GB18030", reasons(result)
    assert Customer.objects.filter(code="客户7").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("encoding, label", [("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE")])
def test_utf16_without_a_bom_and_with_a_chinese_header(tmp_path, company, encoding, label):
    rep = company.rep_sh1.code
    path = tmp_path / "u16.csv"
    path.write_bytes(csv_bytes([HEADER, row(rep, customer="客户甲"), row(rep, 2)], encoding))
    result = do_import_facts(None, path, "order", create_missing=True)
    assert result.status == "applied" and result.options["encoding"] == label, reasons(result)
    assert Customer.objects.filter(code="客户甲").exists()


# --- 2. hostile files --------------------------------------------------------------------

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def workbook(path, sheet_data: str | bytes | None = None, *, dimension: str | None = None, filler=None):
    """A minimal XLSX whose one sheet holds ``sheet_data``; ``filler`` (bytes, count) streams a
    large repetitive sheet body without holding it in memory."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(SHEET_START.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            if filler:
                piece, count = filler
                block = piece * 100_000
                for _ in range(count // 100_000):
                    sheet.write(block)
            if sheet_data:
                sheet.write(sheet_data.encode() if isinstance(sheet_data, str) else sheet_data)
            sheet.write(b"</sheetData></worksheet>")
    return path


def cell(ref: str, value) -> str:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def orders_xml(rep: str) -> str:
    """Two real rows of orders: the header and one sale."""
    head = "".join(cell(f"{col}1", h) for col, h in zip("ABC", ["订单号", "日期", "销售员"], strict=True))
    head += cell("D1", "金额")
    data = cell("A2", "SO1") + cell("B2", "2024-03-01") + cell("C2", rep) + cell("D2", 12)
    return f'<row r="1">{head}</row><row r="2">{data}</row>'


FAR = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


@pytest.fixture
def limits(settings):
    """Change some import limits for one test."""

    def change(**values):
        settings.SALESTARGET_IMPORT_LIMITS = {**settings.SALESTARGET_IMPORT_LIMITS, **values}

    return change


def assert_refused(path, fragment: str, company=None) -> None:
    """Refused cleanly by the service and by the command line; nothing stored."""
    before = footprint()
    result = do_import_facts(None, path, "order")
    text = rejected_cleanly(result, before)
    assert fragment in text, text
    with pytest.raises(CommandError, match="Nothing was imported"):
        run_cli("import", "order", str(path))
    with pytest.raises(Problem, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        with open_table(path):
            pass
    assert footprint() == before


@pytest.mark.django_db
def test_a_tiny_workbook_with_cells_at_a1_and_xfd1048576(tmp_path, company):
    """Read as is, it makes the reader allocate 512 GB and the process abort."""
    path = workbook(tmp_path / "far.xlsx", orders_xml(company.rep_sh1.code) + FAR, dimension="A1:XFD1048576")
    assert path.stat().st_size < 5000
    assert_refused(path, "1,048,576 rows × 16,384 columns")


@pytest.mark.django_db
@pytest.mark.parametrize("dimension", [None, "A1:D2"])
def test_far_cells_are_found_without_or_against_the_declared_dimension(tmp_path, company, dimension):
    path = workbook(tmp_path / "far.xlsx", orders_xml(company.rep_sh1.code) + FAR, dimension=dimension)
    assert_refused(path, "1,048,576 rows × 16,384 columns")


@pytest.mark.django_db
@pytest.mark.parametrize("far", [FAR, '<row r="3"><c r="XFD9"><v>1</v></c></row>'])
def test_a_large_sheet_is_trusted_to_its_dimension_only_when_no_cell_lies_outside(
    tmp_path, company, limits, far
):
    """Past the size where every cell is read, the declared dimension is used, but a pass over
    the references still finds a far cell under a small claim (it would abort the reader)."""
    limits(scan_bytes=0)
    ok = workbook(tmp_path / "ok.xlsx", orders_xml(company.rep_sh1.code), dimension="A1:D2")
    assert do_import_facts(None, ok, "order", dry_run=True).status == "dry_run"
    path = workbook(tmp_path / "far.xlsx", orders_xml(company.rep_sh1.code) + far, dimension="A1:D2")
    limits(max_cells=100)
    assert_refused(path, "more than the limit of")


@pytest.mark.django_db
def test_cells_without_references_are_counted_by_position(tmp_path, company):
    wide = '<row r="1048576"><c><v>1</v></c>' + "<c/>" * 20000 + "<c><v>2</v></c></row>"
    path = workbook(tmp_path / "wide.xlsx", orders_xml(company.rep_sh1.code) + wide)
    assert_refused(path, "more than the limit of 16,384 columns")


@pytest.mark.django_db
def test_a_bogus_large_dimension_over_a_small_sheet_is_read(tmp_path, company):
    """Some tools declare A1:XFD1048576 over a few cells: the cells decide, not the claim."""
    path = workbook(tmp_path / "claim.xlsx", orders_xml(company.rep_sh1.code), dimension="A1:XFD1048576")
    result = do_import_facts(None, path, "order")
    assert result.status == "applied", reasons(result)


@pytest.mark.django_db
def test_a_declared_dimension_over_the_cell_limit_is_refused_without_reading_the_sheet(
    tmp_path, company, limits
):
    limits(scan_bytes=0)
    path = workbook(tmp_path / "claim.xlsx", orders_xml(company.rep_sh1.code), dimension="A1:Z3000000")
    assert_refused(path, "3,000,000 rows")


@pytest.mark.django_db
def test_rows_columns_and_cells_limits(tmp_path, company, limits):
    rep = company.rep_sh1.code
    path = workbook(tmp_path / "ok.xlsx", orders_xml(rep), dimension="A1:D2")
    assert do_import_facts(None, path, "order", dry_run=True).status == "dry_run"
    limits(max_columns=3)
    assert_refused(path, "more than the limit of 3 columns")
    limits(max_columns=16384, max_rows=1)
    assert_refused(path, "more than the limit of 1 rows")
    limits(max_rows=1048576, max_cells=7)
    assert_refused(path, "more than the limit of 7 cells")


@pytest.mark.django_db
def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, company, limits):
    """~100 MB of '<row/>' packs into ~100 KB; the limit is lowered to keep the test small."""
    limits(max_unpacked_bytes=64 * 1024 * 1024)
    path = workbook(tmp_path / "bomb.xlsx", orders_xml(company.rep_sh1.code), filler=(b"<row/>", 17_500_000))
    assert path.stat().st_size < 1_000_000
    assert_refused(path, "more than the limit of 64 MB")


@pytest.mark.django_db
def test_a_compression_ratio_beyond_the_limit_is_refused(tmp_path, company, limits):
    limits(ratio_from_bytes=1024 * 1024)
    path = workbook(tmp_path / "dense.xlsx", orders_xml(company.rep_sh1.code), filler=(b"<row/>", 2_000_000))
    assert_refused(path, "compressed")


@pytest.mark.django_db
def test_a_part_larger_than_it_declares_is_refused(tmp_path, company):
    """The zip's directory is what the size limits read: a part that unpacks to more than it
    declares is refused (and the reader itself stops at the declared size)."""
    path = workbook(tmp_path / "lie.xlsx", orders_xml(company.rep_sh1.code), filler=(b"<row/>", 400_000))
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at, name_length_at, name_at in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        at = data.find(signature)
        while at >= 0:
            length = int.from_bytes(data[at + name_length_at : at + name_length_at + 2], "little")
            if data[at + name_at : at + name_at + length] == name:
                data[at + size_at : at + size_at + 4] = (1000).to_bytes(4, "little")
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    assert_refused(path, "Cannot read the workbook")


@pytest.mark.django_db
def test_workbooks_whose_sheets_cannot_be_checked_are_refused(tmp_path, company):
    path = tmp_path / "sheet.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    assert_refused(path, "Only XLSX, XLS and CSV files are read")


@pytest.mark.django_db
def test_an_xls_file_beyond_its_size_limit_is_refused(tmp_path, company, limits):
    limits(max_xls_bytes=1024 * 1024)
    path = tmp_path / "big.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * (2 * 1024 * 1024))
    assert_refused(path, "more than the limit of 1 MB for XLS")


@pytest.mark.django_db
def test_csv_field_line_and_column_limits(tmp_path, company, limits):
    rep = company.rep_sh1.code
    limits(max_field_bytes=1024, max_columns=10)
    path = tmp_path / "long.csv"
    path.write_bytes(csv_bytes([HEADER, row(rep, customer="x" * 2000)]))
    assert_refused(path, "Line 2 is longer than 1 KB")
    path.write_bytes(csv_bytes([HEADER, row(rep, customer="\n".join(["x" * 100] * 20))]))
    assert_refused(path, "longer than 1 KB")
    path.write_bytes(csv_bytes([HEADER, row(rep) + [""] * 10]))
    assert_refused(path, "Row 2 has 17 columns, more than the limit of 10")


@pytest.mark.django_db
def test_the_web_upload_refuses_a_hostile_workbook_with_a_form_error(client, company, tmp_path):
    client.force_login(company.admin)
    path = workbook(tmp_path / "far.xlsx", orders_xml(company.rep_sh1.code) + FAR, dimension="A1:XFD1048576")
    with path.open("rb") as f:
        response = client.post(reverse("actuals:import"), {"kind": "order", "file": f, "source": "web"})
    assert response.status_code == 200
    error = " ".join(response.context["form"].errors["file"])  # in the user's language
    assert "1,048,576" in error and "16,384" in error and "50,000,000" in error, error
    assert not ImportBatch.objects.exists() and not Fact.objects.exists()


# --- no input crashes the import -----------------------------------------------------------

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
XML_PIECES = [
    '<row r="1">',
    '<row r="1048576">',
    "<row>",
    "</row>",
    '<c r="A1">',
    '<c r="XFD1">',
    '<c r="B99999999">',
    '<c r="ZZZZ2">',
    '<c r="A0">',
    '<c r="A99999999999">',
    "<c>",
    "<c/>",
    "</c>",
    "<v>1</v>",
    "<v>1e308</v>",
    '<c t="inlineStr"><is><t>=cmd</t></is></c>',
    '<dimension ref="A1:XFD1048576"/>',
    "<sheetData>",
    "</sheetData>",
]


def imported_or_refused(path) -> None:
    result = do_import_facts(None, path, "order", create_missing=True, dry_run=True)
    assert result.status in ("dry_run", "rejected")
    assert not Fact.objects.exists()


@pytest.mark.django_db
@FUZZ
@given(content=st.binary(max_size=2000))
def test_random_bytes_as_csv(tmp_path, company, content):
    path = tmp_path / "random.csv"
    path.write_bytes(content)
    imported_or_refused(path)


@pytest.mark.django_db
@FUZZ
@given(content=st.binary(max_size=2000))
def test_random_bytes_as_xlsx(tmp_path, company, content):
    path = tmp_path / "random.xlsx"
    path.write_bytes(b"PK\x03\x04" + content)
    imported_or_refused(path)


@pytest.mark.django_db
@FUZZ
@given(pieces=st.lists(st.sampled_from(XML_PIECES), max_size=40), noise=st.binary(max_size=50))
def test_random_sheets_in_a_valid_workbook(tmp_path, company, pieces, noise):
    path = workbook(tmp_path / "random.xlsx", "".join(pieces).encode() + noise)
    imported_or_refused(path)


def test_the_limits_come_from_the_environment(monkeypatch):
    from salestarget import config

    monkeypatch.setenv("SALESTARGET_IMPORT_MAX_UNPACKED_MB", "2048")
    monkeypatch.setenv("SALESTARGET_IMPORT_MAX_CELLS", "1000")
    limits = config.import_limits()
    assert limits["max_unpacked_bytes"] == 2048 * 1024 * 1024 and limits["max_cells"] == 1000
    assert limits["max_field_bytes"] == 16 * 1024 * 1024 and limits["max_rows"] == 1_048_576
    monkeypatch.setenv("SALESTARGET_IMPORT_MAX_RATIO", "0")
    with pytest.raises(config.ConfigError, match="SALESTARGET_IMPORT_MAX_RATIO"):
        config.import_limits()


def test_master_data_refuses_a_mapped_duplicate_header_and_an_unbounded_price(company, tmp_path):
    from salestarget.actuals.services import do_import_master
    from salestarget.catalog.models import Product

    twice = write_csv(tmp_path / "p.csv", [["code", "name", "name"], ["N1", "甲", "乙"]])
    result = do_import_master(company.admin, twice, "products")
    assert result.status == "rejected" and "appears twice" in str(result.errors[0]["message"])
    huge = write_csv(tmp_path / "q.csv", [["code", "name", "unit_price"], ["N2", "乙", "1e18"]])
    result = do_import_master(company.admin, huge, "products")
    assert result.status == "rejected" and result.errors[0]["column"] == "unit_price"
    assert not Product.objects.filter(code__in=["N1", "N2"]).exists()
