"""The guessed external id of a line-level export (issue 12, item 14): an order number repeats on
every line of its order, so the guess checks the rows it reads and proposes order number + line
number, or leaves the id unmapped; and a dry run says what it would write, never "batch #None"."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from salestarget.actuals.importers import FACT_FIELDS
from salestarget.actuals.models import Fact, ImportBatch
from salestarget.actuals.parsing import SYNONYMS
from salestarget.actuals.services import do_import_facts, resolve_columns
from tests.actuals.conftest import write_csv

pytestmark = pytest.mark.django_db


def order_lines(company, headers, orders=30, lines=4, line_column=True):
    """``orders`` orders of ``lines`` lines each: the order number repeats, the line number runs
    1..n within its order."""
    rows = [headers]
    for o in range(1, orders + 1):
        for n in range(1, lines + 1):
            row = [f"SO{o:05d}", str(n), "2024-03-01", company.rep_sh1.code, f"{o * 10 + n}.00"]
            rows.append(row if line_column else row[:1] + row[2:])
    return rows


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


@pytest.mark.parametrize(
    "headers",
    [
        ["Order ID", "Line No", "Order Date", "Sales Rep", "Amount"],
        ["单号", "项次", "日期", "销售员", "金额"],
        ["Order Number", "Line", "Date", "Salesperson", "Amount"],
    ],
)
def test_a_repeating_order_number_becomes_order_plus_line(headers, company, tmp_path):
    path = write_csv(tmp_path / "lines.csv", order_lines(company, headers))
    result = do_import_facts(None, path, "order")
    assert (result.status, result.rows_written, result.error_count) == ("applied", 120, 0)
    assert result.options["mapping"]["external_id"] == f"{headers[0]}+{headers[1]}"
    assert Fact.objects.filter(external_id="SO00007-3").exists()
    # Imported again: every line is recognised as already imported.
    again = do_import_facts(None, path, "order")
    assert (again.status, again.rows_written, again.rows_skipped) == ("applied", 0, 120)


def test_resolve_columns_checks_the_sample(company):
    headers = ["Order ID", "Line No", "Order Date", "Sales Rep", "Amount"]
    rows = order_lines(company, headers, orders=3, lines=2)
    sample = list(enumerate(rows[1:], start=2))
    notes = []
    columns = resolve_columns(headers, {}, FACT_FIELDS, SYNONYMS, sample=sample, notes=notes)
    assert columns["external_id"] == [0, 1]
    assert [n["message"] for n in notes] == [
        "%(column)s repeats, so it cannot tell the rows apart: the external id is %(columns)s."
    ]
    # Without a sample (or with unique ids) the guess is the headers' alone.
    assert resolve_columns(headers, {}, FACT_FIELDS, SYNONYMS)["external_id"] == [0]
    unique = [(n, r) for n, r in sample if r[1] == "1"]
    assert resolve_columns(headers, {}, FACT_FIELDS, SYNONYMS, sample=unique)["external_id"] == [0]


def test_without_a_line_number_the_external_id_is_left_unmapped(company, tmp_path):
    headers = ["Order ID", "Order Date", "Sales Rep", "Amount"]
    path = write_csv(tmp_path / "lines.csv", order_lines(company, headers, line_column=False))
    out, err, exc = run("import", "order", str(path))
    assert exc is None, err
    assert "external_id" not in ImportBatch.objects.get().options["mapping"]
    assert Fact.objects.count() == 120
    assert "Order ID repeats" in out and "no external id" in out


def test_the_users_own_mapping_is_kept(company, tmp_path):
    headers = ["Order ID", "Line No", "Order Date", "Sales Rep", "Amount"]
    path = write_csv(tmp_path / "lines.csv", order_lines(company, headers))
    result = do_import_facts(None, path, "order", mapping={"external_id": "Order ID"})
    assert result.status == "rejected" and result.error_count == 90


def test_a_dry_run_says_would_write_and_names_no_batch(company, tmp_path):
    headers = ["Order ID", "Line No", "Order Date", "Sales Rep", "Amount"]
    path = write_csv(tmp_path / "lines.csv", order_lines(company, headers))
    out, err, exc = run("import", "order", str(path), "--dry-run")
    assert exc is None, err
    assert "rows that would be written: 120" in out and "rows written" not in out
    assert "None" not in out + err and not Fact.objects.exists()

    # A dry run that finds errors: more than the 20 shown, and still no batch to point at.
    out, err, exc = run("import", "order", str(path), "--dry-run", "--map", "external_id=Order ID")
    assert exc is not None and "90 errors" in str(exc)
    assert "None" not in out + err and "#" not in out + err
    assert "Dry run" in out and "70 more errors" in err and "--json" in err
    assert not ImportBatch.objects.exists()
    summary = json.loads(run("import", "order", str(path), "--dry-run", "--json")[0])
    assert summary["batch_id"] is None and summary["rows_written"] == 120
