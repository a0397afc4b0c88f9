"""``salestarget import`` and ``salestarget rollups`` (called as Django management commands,
which is what the console script runs)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from salestarget.actuals import rollups
from salestarget.actuals.models import DailyRollup, Fact, ImportBatch
from tests.actuals.conftest import write_csv

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_summary(orders, company):
    out, _err = run("import", "order", str(orders), "--json", "--source", "erp")
    summary = json.loads(out)
    assert summary["status"] == "applied" and summary["source"] == "erp"
    assert (summary["rows_read"], summary["rows_written"], summary["rows_skipped"]) == (4, 4, 0)
    assert summary["totals"]["order"]["amount"] == "1550.00" and summary["errors"] == []
    assert ImportBatch.objects.get(pk=summary["batch_id"]).created_by is None


def test_human_summary_and_options(orders, company):
    out, _err = run(
        "import", "orders", str(orders), "--map", "quantity=", "region=区域", "--unit", "thousand"
    )
    assert "rows written: 4" in out
    assert "total amount: 1,550,000.00" in out
    assert set(Fact.objects.values_list("quantity", flat=True)) == {0}


def test_dry_run(orders, company):
    out, _err = run("import", "order", str(orders), "--dry-run", "--json")
    assert (
        json.loads(out)["status"] == "dry_run"
        and not Fact.objects.exists()
        and not ImportBatch.objects.exists()
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["import", "widgets", "f.csv"], "Unknown kind widgets"),
        (["import", "order", "f.csv", "--map", "amount"], "--map expects FIELD=COLUMN"),
        (["import", "order", "f.csv", "--map", "colour=金额"], "Unknown field colour"),
        (["import", "order", "f.csv", "--date-format", "yyyy-dd"], "Unknown date format"),
    ],
)
def test_bad_options(orders, company, args, message):
    args = [str(orders) if a == "f.csv" else a for a in args]
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_master_data_kinds(company, tmp_path):
    path = write_csv(
        tmp_path / "regions.csv",
        [["区域编码", "区域名称", "上级编码"], ["EC", "华东区", ""], ["ZJ", "浙江", "EC"]],
    )
    out, _err = run("import", "regions", str(path), "--json")
    summary = json.loads(out)
    assert summary["status"] == "applied" and summary["created"] == {"regions": 2}


def test_rollups_verify_and_rebuild(orders, company):
    run("import", "order", str(orders))
    out, _err = run("rollups", "verify")
    assert "match" in out
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {DailyRollup._meta.db_table} SET amount = amount + 1")
    with pytest.raises(CommandError, match="differ"):
        run("rollups", "verify")
    out, _err = run("rollups", "rebuild")
    assert "rebuilding" in out and "they match the facts" in out
    run("rollups", "verify")
    # Every other grain (month; unit day and month; company day and month) is verified and
    # rebuilt alike.
    for grain in rollups.GRAINS[1:]:
        table = grain.table
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = (SELECT MIN(id) FROM {table})")
        with pytest.raises(CommandError, match="differ"):
            run("rollups", "verify")
        run("rollups", "rebuild")
        run("rollups", "verify")


def test_batches_are_listed_and_rolled_back_from_the_command_line(orders, company, tmp_path):
    out, _err = run("import", "order", str(orders), "--json")
    facts = json.loads(out)["batch_id"]
    regions = write_csv(tmp_path / "regions.csv", [["code", "name"], ["EC", "华东区"]])
    master = json.loads(run("import", "regions", str(regions), "--json")[0])["batch_id"]
    out, _err = run("batches")
    lines = out.splitlines()
    assert lines[0].startswith(f"#{master} ") and lines[1].startswith(f"#{facts} ")
    assert "read 4, written 4, skipped 0, errors 0" in lines[1] and "1,550.00" in lines[1]
    out, _err = run("batches", "--rollback", str(facts))
    assert f"Batch #{facts} was rolled back." in out and not Fact.objects.exists()
    with pytest.raises(CommandError, match="it is Rolled back"):
        run("batches", "--rollback", str(facts))
    run("batches", "--rollback", str(master))
    from salestarget.catalog.models import Region

    assert not Region.objects.filter(code="EC").exists()
    with pytest.raises(CommandError, match="There is no batch #999999"):
        run("batches", "--rollback", "999999")
