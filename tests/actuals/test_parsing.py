"""Reading messy exports: encodings, headers, dates, amounts, formulas — no database needed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salestarget.actuals.parsing import (
    DateParser,
    Problem,
    Rounder,
    cell_text,
    decide_date_order,
    detect_encoding,
    guess_mapping,
    looks_like_formula,
    open_table,
    parse_date_format,
    parse_decimal,
    round_half_up,
    spreadsheet_safe,
)
from tests.actuals.conftest import write_csv

ROWS = [["日期", "销售员", "金额"], ["2024-01-05", "张三", "1,234.50"], ["2024-01-06", "李四", "88"]]


def read_all(path, **kwargs):
    with open_table(path, **kwargs) as table:
        return table, list(table.rows())


@pytest.mark.parametrize(
    "encoding, detected",
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gbk", "gb18030"),
        ("gb18030", "gb18030"),
        ("utf-16", "utf-16"),
    ],
)
def test_encodings_are_detected(tmp_path, encoding, detected):
    path = write_csv(tmp_path / "f.csv", ROWS, encoding=encoding)
    assert detect_encoding(path) == detected
    table, rows = read_all(path)
    assert table.headers == ["日期", "销售员", "金额"]
    assert rows == [(2, ["2024-01-05", "张三", "1,234.50"]), (3, ["2024-01-06", "李四", "88"])]


def test_utf16_without_bom(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("date,amount\r\n2024-01-05,1\r\n".encode("utf-16-le"))
    assert detect_encoding(path) == "utf-16-le"
    assert read_all(path)[1] == [(2, ["2024-01-05", "1"])]


def test_gbk_text_late_in_an_ascii_file_is_still_detected(tmp_path):
    rows = [["date", "name"]] + [["2024-01-05", "x"]] * 5000 + [["2024-01-06", "张三"]]
    path = write_csv(tmp_path / "f.csv", rows, encoding="gbk")
    table, read = read_all(path)
    assert table.encoding == "gb18030" and read[-1][1][1] == "张三"


def test_an_encoding_that_is_none_of_ours_is_refused(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("client,amount\r\nCafé,1\r\n".encode("cp1252"))
    with pytest.raises(Problem, match="encoding"):
        read_all(path)


def test_a_named_encoding_that_does_not_fit_names_the_row(tmp_path):
    path = write_csv(tmp_path / "f.csv", ROWS, encoding="gbk")
    with pytest.raises(Problem, match="Row 1 cannot be read as UTF-8"):
        read_all(path, encoding="utf-8")


def test_delimiters_and_title_lines(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("销售明细 2024年1月;;\n\n日期;销售员;金额\n2024-01-05;张三;12\n", encoding="utf-8")
    table, rows = read_all(path)
    assert table.headers == ["日期", "销售员", "金额"] and table.header_row == 3
    assert rows == [(4, ["2024-01-05", "张三", "12"])]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty."),
        (b"\r\n\r\n", "no header row"),
        (b'date,amount\r\n2024-01-05,"12', "ends inside a quoted value"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"PK\x03\x04garbage", "Cannot read the workbook"),
    ],
)
def test_files_that_cannot_be_read(tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(Problem, match=message):
        read_all(path)


def test_a_cut_off_last_row_is_reported(tmp_path):
    path = write_csv(
        tmp_path / "f.csv", [["date", "person", "amount"], ["2024-01-05", "P1"]], newline_at_end=False
    )
    with pytest.raises(Problem, match="ends in the middle of row 2"):
        read_all(path)


def test_xlsx_and_sheet_choice(tmp_path):
    import xlsxwriter

    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Notes").write(0, 0, "ignore me")
    sheet = book.add_worksheet("Orders")
    fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["Order ID", "Order Date", "Sales"])
    sheet.write_row(1, 0, [1001, None, 3.54])
    sheet.write_datetime(1, 1, dt.datetime(2024, 1, 5), fmt)
    book.close()
    table, rows = read_all(path, sheet="Orders")
    assert table.format == "xlsx" and table.headers == ["Order ID", "Order Date", "Sales"]
    (number, cells) = rows[0]
    assert number == 2 and cell_text(cells[0]) == "1001"
    assert DateParser()(cells[1]) == "2024-01-05" and parse_decimal(cells[2]) == Decimal("3.54")
    with pytest.raises(Problem, match="no sheet Missing"):
        read_all(path, sheet="Missing")


def test_rows_below_blank_rows_keep_the_spreadsheets_numbers(tmp_path):
    """QA 2026-12-04: a header on row 3 was reported as row 5, and every error after it."""
    import xlsxwriter

    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Orders")
    sheet.write_row(2, 1, ["Order ID", "Order Date", "Sales"])
    sheet.write_row(3, 1, [1001, "2024-01-05", 3.54])
    book.close()
    table, rows = read_all(path)
    assert table.headers == ["Order ID", "Order Date", "Sales"]
    assert rows[0][0] == 4 and cell_text(rows[0][1][0]) == "1001"


# --- amounts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("¥1,234.56", "1234.56"),
        ("￥ 1,234", "1234"),
        ("$12.5", "12.5"),
        ("1234元", "1234"),
        ("RMB 88", "88"),
        ("(1,234.56)", "-1234.56"),
        ("（88）", "-88"),
        ("-¥12.30", "-12.30"),
        ("1,234.56-", "-1234.56"),
        ("16.4483", "16.4483"),
        (3.539999999999999, "3.54"),
        (12, "12"),
    ],
)
def test_amounts(text, value):
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "12,34", "1.2.3", "NaN", "Infinity", "=1+2", "--5"])
def test_not_amounts(text):
    with pytest.raises(Problem):
        parse_decimal(text)


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(min_value=-(10**13), max_value=10**13),
    currency=st.sampled_from(["", "¥", "￥", "$"]),
    grouped=st.booleans(),
    parentheses=st.booleans(),
)
def test_amount_round_trip(cents, currency, grouped, parentheses):
    value = Decimal(cents).scaleb(-2)
    body = f"{abs(value):,.2f}" if grouped else f"{abs(value):.2f}"
    if value < 0:
        text = f"({currency}{body})" if parentheses else f"-{currency}{body}"
    else:
        text = f"{currency}{body}"
    assert parse_decimal(text) == value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.decimals(min_value=-(10**7), max_value=10**7, places=4), max_size=60))
def test_rounded_rows_add_up_to_the_rounded_total(amounts):
    rounder = Rounder()
    fen = [rounder.take(a * 100) for a in amounts]
    assert sum(fen) == round_half_up(sum(amounts, Decimal(0)) * 100)
    assert all(abs(f - a * 100) < 1 for f, a in zip(fen, amounts, strict=True))


def test_whole_fen_rows_are_stored_unchanged():
    rounder = Rounder()
    rounder.take(Decimal("1644.83"))
    assert [rounder.take(Decimal(v)) for v in ("354", "-548", "12")] == [354, -548, 12]


# --- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, order, iso",
    [
        ("2024-01-05", None, "2024-01-05"),
        ("2024/1/5", None, "2024-01-05"),
        ("2024.01.05", None, "2024-01-05"),
        ("2024-01-05 13:45:00", None, "2024-01-05"),
        ("2024-01-05T13:45:00Z", None, "2024-01-05"),
        ("2024年1月5日", None, "2024-01-05"),
        ("20240105", None, "2024-01-05"),
        ("45296", None, "2024-01-05"),
        (45296.5, None, "2024-01-05"),
        ("05-Jan-2024", None, "2024-01-05"),
        ("Jan 5, 2024", None, "2024-01-05"),
        ("05/01/24", "dmy", "2024-01-05"),
        ("01/05/24", "mdy", "2024-01-05"),
        ("5.1.2024", "dmy", "2024-01-05"),
        ("13/01/19", None, "2019-01-13"),
        (dt.datetime(2024, 1, 5, 9, 30), None, "2024-01-05"),
    ],
)
def test_dates(text, order, iso):
    assert DateParser(order)(text) == iso


@pytest.mark.parametrize("text", ["2024-02-30", "31/31/24", "next week", "1899-01-01", "=TODAY()", "99999"])
def test_not_dates(text):
    with pytest.raises(Problem):
        DateParser("dmy")(text)


def test_an_ambiguous_value_without_an_order_asks_for_the_format():
    with pytest.raises(Problem, match="--date-format"):
        DateParser()("03/01/19")


def test_the_date_order_is_settled_by_the_files_values():
    assert decide_date_order(["03/01/19", "04/01/19", "13/01/19"]) == ("dmy", None)
    assert decide_date_order(["01/03/19", "01/13/19"]) == ("mdy", None)
    assert decide_date_order(["03/01/19", "04/01/19"]) == (None, "03/01/19")
    assert decide_date_order(["2024-01-05", 45296]) == (None, None)
    assert decide_date_order(["13/01/19", "14/01/19", "01/13/19"]) == ("dmy", None)


@pytest.mark.parametrize(
    "fmt, parsed",
    [
        ("dd/mm/yy", ("dmy", None)),
        ("mm/dd/yyyy", ("mdy", None)),
        ("yyyy-mm-dd", ("ymd", None)),
        ("%d.%m.%Y", (None, "%d.%m.%Y")),
        ("auto", (None, None)),
    ],
)
def test_date_format_option(fmt, parsed):
    assert parse_date_format(fmt) == parsed


@settings(max_examples=150, deadline=None)
@given(
    day=st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2068, 12, 31)),
    style=st.sampled_from(["ymd", "dmy", "mdy"]),
    sep=st.sampled_from("/-."),
    short=st.booleans(),
)
def test_date_round_trip(day, style, sep, short):
    year = f"{day.year % 100:02d}" if short else str(day.year)
    parts = {
        "ymd": [str(day.year), f"{day.month:02d}", f"{day.day:02d}"],
        "dmy": [f"{day.day:02d}", f"{day.month:02d}", year],
        "mdy": [f"{day.month:02d}", f"{day.day:02d}", year],
    }[style]
    assert DateParser(style)(sep.join(parts)) == day.isoformat()


# --- formulas, headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "=cmd|' /C calc'!A0",
        "=1+2",
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(A1:A2)",
        '=HYPERLINK("http://x")',
        " \t=1+1",
        '-HYPERLINK("x")',
        "+cmd",
        "- Clearance (50% off)",
        "@home",
    ],
)
def test_formulas_are_recognised(text):
    assert looks_like_formula(text)


@pytest.mark.parametrize("text", ["-5.487", "+86 138 0000 0000", "张三", "a=b", "=", "-", ""])
def test_ordinary_text_is_not_a_formula(text):
    """Text starting with = + - @ is a formula unless it is a lone sign or a number (issue 10):
    “- Clearance (50% off)” and “@home” are refused like “+cmd”."""
    assert not looks_like_formula(text)


def test_spreadsheet_safe_cells():
    assert spreadsheet_safe("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert spreadsheet_safe("-12") == "'-12"
    assert spreadsheet_safe("张三") == "张三"
    assert spreadsheet_safe(None) == ""


def test_header_guessing_in_chinese_and_english():
    fields = [
        "external_id",
        "date",
        "amount",
        "quantity",
        "person",
        "product",
        "product_category",
        "customer",
        "region",
    ]
    zh = [
        "订单号",
        "行号",
        "单据日期",
        "销售员",
        "产品编码",
        "客户名称",
        "客户编码",
        "区域",
        "数量",
        "金额(元)",
    ]
    assert guess_mapping(zh, fields) == {
        "external_id": ["订单号", "行号"],
        "date": ["单据日期"],
        "amount": ["金额(元)"],
        "quantity": ["数量"],
        "person": ["销售员"],
        "product": ["产品编码"],
        "customer": ["客户编码"],
        "region": ["区域"],
    }
    en = [
        "Row ID",
        "Order ID",
        "Order Date",
        "Ship Date",
        "Customer ID",
        "Region",
        "Product ID",
        "Category",
        "Sub-Category",
        "Sales",
        "Quantity",
    ]
    guessed = guess_mapping(en, fields)
    assert guessed["external_id"] == ["Row ID"] and guessed["date"] == ["Order Date"]
    assert guessed["amount"] == ["Sales"] and guessed["product_category"] == ["Category", "Sub-Category"]
    assert "person" not in guessed
