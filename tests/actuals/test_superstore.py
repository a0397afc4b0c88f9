"""The real export (../shared/data/superstore): UTF-8 with BOM, dd/mm/yy dates, US regions,
amounts with up to four decimals. Imported through the command line and the web pages with a
mapping and no code change; its total equals the file's own sum to the cent; the same data
saved as GB18030 and as XLSX imports identically; a second import adds nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from salestarget.actuals import credit, rollups
from salestarget.actuals.models import Fact
from salestarget.jobs.worker import drain
from salestarget.metrics.models import Metric
from salestarget.org.models import Person
from tests.actuals.conftest import superstore_csv

SOURCE = superstore_csv()
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(SOURCE is None, reason="shared/data/superstore is not next to the repository"),
]


def file_rows() -> list[dict]:
    with SOURCE.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def expected_total() -> Decimal:
    """The file's own sum, rounded to the cent."""
    return sum((Decimal(r["Sales"]) for r in file_rows()), Decimal(0)).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )


def cli_import(path, *extra) -> dict:
    out = io.StringIO()
    call_command(
        "import",
        "order",
        str(path),
        "--map",
        "external_id=Row ID",
        "--create-missing",
        "--json",
        *extra,
        stdout=out,
    )
    return json.loads(out.getvalue())


def as_xlsx(path) -> None:
    """What Excel's “Save as .xlsx” produces: numbers as numbers, dates as dates."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Orders")
    date = book.add_format({"num_format": "dd/mm/yy"})
    rows = file_rows()
    headers = list(rows[0])
    sheet.write_row(0, 0, headers)
    numbers = {"Row ID", "Sales", "Quantity", "Discount", "Profit"}
    dates = {"Order Date", "Ship Date"}
    for r, row in enumerate(rows, start=1):
        for c, name in enumerate(headers):
            value = row[name]
            if name in numbers:
                sheet.write_number(r, c, float(value))
            elif name in dates:
                sheet.write_datetime(r, c, dt.datetime.strptime(value, "%d/%m/%y"), date)
            else:
                sheet.write_string(r, c, value)
    book.close()


def facts_of(source: str) -> dict:
    return {
        ext: rest
        for ext, *rest in Fact.objects.filter(source=source).values_list(
            "external_id",
            "date",
            "amount",
            "quantity",
            "profit",
            "product__code",
            "customer__code",
            "region__code",
        )
    }


def test_superstore_through_the_command_line(tmp_path):
    total = expected_total()
    summary = cli_import(SOURCE)
    assert summary["status"] == "applied", summary["errors"][:5]
    assert summary["rows_read"] == summary["rows_written"] == 10194
    assert summary["options"]["date_format"] == "dd/mm/yy" and summary["options"]["encoding"] == "UTF-8 (BOM)"
    assert Decimal(summary["totals"]["order"]["amount"]) == total == Decimal("2326534.35")
    assert sum(Fact.objects.values_list("amount", flat=True)) == int(total * 100)

    again = cli_import(SOURCE)
    assert (again["rows_written"], again["rows_skipped"], again["totals"]["order"]["amount_fen"]) == (
        0,
        10194,
        0,
    )

    gbk = tmp_path / "superstore-gbk.csv"
    gbk.write_bytes(SOURCE.read_text(encoding="utf-8-sig").encode("gb18030"))
    xlsx = tmp_path / "superstore.xlsx"
    as_xlsx(xlsx)
    for path, source, encoding in ((gbk, "gbk", "GBK/GB18030"), (xlsx, "xlsx", "")):
        copy = cli_import(path, "--source", source)
        assert copy["status"] == "applied" and copy["rows_written"] == 10194, copy["errors"][:5]
        assert copy["options"]["encoding"] == encoding
        assert Decimal(copy["totals"]["order"]["amount"]) == total
        assert facts_of(source) == facts_of("file")
    assert rollups.verify() == []


def test_superstore_regional_managers_are_credited_by_territory():
    """The workbook's People sheet names a regional manager per region: imported as territory
    assignments, it credits each manager with their region's sales."""
    xls = SOURCE.with_name("Sample - Superstore.xls")
    if not xls.exists():
        pytest.skip("no Superstore.xls")
    cli_import(SOURCE)
    out = io.StringIO()
    call_command(
        "import", "territories", str(xls), "--sheet", "People", "--create-missing", "--json", stdout=out
    )
    summary = json.loads(out.getvalue())
    assert summary["status"] == "applied" and summary["created"] == {"people": 4, "territories": 4}
    metric = Metric.objects.get(code="sales")
    metric.credit_rule = Metric.Credit.TERRITORY
    credited = credit.credited_by_person(metric, dt.date(2019, 1, 1), dt.date(2022, 12, 31))
    names = dict(Person.objects.values_list("pk", "name"))
    got = {names[pid]: value for pid, value in credited.items()}
    by_region = dict(
        Fact.objects.values("region__code").annotate(s=Sum("amount")).values_list("region__code", "s")
    )
    assert got["Sadie Pawthorne"] == by_region["West"] and got["Chuck Magee"] == by_region["East"]
    assert Decimal(sum(got.values())) / 100 == expected_total()


def test_superstore_through_the_web_pages(client, company):
    client.force_login(company.admin)
    with SOURCE.open("rb") as f:
        response = client.post("/actuals/import/", {"kind": "order", "file": f, "source": "web"})
    assert response.status_code == 302
    mapping_url = response["Location"]
    page = client.get(mapping_url)
    assert page.status_code == 200
    initial = page.context["form"].initial
    assert initial["map_date"] == "Order Date" and initial["map_amount"] == "Sales"
    form = {f"map_{k[4:]}" if k.startswith("map_") else k: v for k, v in initial.items()}
    form.update(
        {"map_external_id": "Row ID", "map_external_id_2": "", "unit": "yuan", "create_missing": "on"}
    )
    client.post(mapping_url, {**form, "action": "preview"})
    drain()
    preview = client.get(mapping_url)
    result = preview.context["result"]
    assert result["status"] == "dry_run" and result["rows_written"] == 10194 and not Fact.objects.exists()
    assert b'value="confirm"' in preview.content
    client.post(mapping_url, {**form, "action": "confirm"})
    drain()
    done = client.get(mapping_url)
    assert done.status_code == 302 and "/actuals/batches/" in done["Location"]
    assert Decimal(sum(Fact.objects.values_list("amount", flat=True))) / 100 == expected_total()
    # A second confirm (another tab, a double click) imports nothing more.
    client.post(mapping_url, {**form, "action": "confirm"})
    assert drain() == 0 and client.get(mapping_url)["Location"] == done["Location"]
