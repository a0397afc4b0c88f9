"""Helpers for the actuals tests: files written the way exports arrive, and counting what an
import left behind (so "nothing written" is checked, not assumed)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest


def csv_bytes(rows: list[list], encoding: str = "utf-8", newline_at_end: bool = True) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    text = out.getvalue() if newline_at_end else out.getvalue().rstrip("\r\n")
    return text.encode(encoding)


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8", newline_at_end: bool = True) -> Path:
    path.write_bytes(csv_bytes(rows, encoding, newline_at_end))
    return path


def superstore_csv() -> Path | None:
    """../shared/data/superstore/Sample - Superstore.csv, found by walking up from here."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "superstore" / "Sample - Superstore.csv"
        if candidate.exists():
            return candidate
    return None


def footprint() -> dict[str, int]:
    """Row counts of everything an import may write."""
    from salestarget.actuals.models import DailyRollup, Fact, FactCredit
    from salestarget.catalog.models import Customer, Product, Region
    from salestarget.org.models import Person

    return {
        "facts": Fact.objects.count(),
        "credits": FactCredit.objects.count(),
        "rollups": DailyRollup.objects.count(),
        "people": Person.objects.count(),
        "products": Product.objects.count(),
        "customers": Customer.objects.count(),
        "regions": Region.objects.count(),
    }


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English, the msgids; the zh-Hans catalogue may translate them."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def orders(tmp_path, company):
    """A small order export in Chinese, for the people of the ``company`` fixture."""
    c = company
    rows = [
        ["订单号", "行号", "日期", "销售员", "产品编码", "客户", "区域", "数量", "金额"],
        ["SO1", "1", "2024-03-01", c.rep_sh1.code, "P1", "", "SHA", "2", "1,200.50"],
        ["SO1", "2", "2024-03-01", c.rep_sh1.code, "P1", "", "SHA", "1", "99.5"],
        ["SO2", "1", "2024-03-02", c.rep_sh2.code, "P1", "", "SHA", "3", "¥300"],
        ["SO3", "1", "2024-03-05", c.rep_sz.code, "P1", "", "GD", "1", "(50.00)"],
    ]
    return write_csv(tmp_path / "orders.csv", rows)
