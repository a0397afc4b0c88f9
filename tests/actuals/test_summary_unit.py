"""月度汇总: the note above the table names the unit its cells are really shown in, in Chinese and
English (QA found "单位：元" over cells in 万)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from salestarget.actuals.services import do_import_fact_rows

pytestmark = pytest.mark.django_db

CELL = re.compile(r'<td class="[^"]*font-monospace[^"]*">([^<]*)</td>')
PLAIN = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?$")


@pytest.fixture
def sales(company):
    rows = [
        {"external_id": "U1", "date": "2024-03-05", "amount": "12345678.90", "person": company.rep_sh1.code},
        {"external_id": "U2", "date": "2024-03-06", "amount": "5000", "person": company.rep_sh2.code},
        {"external_id": "U3", "date": "2024-04-01", "amount": "876.54", "person": company.rep_sh2.code},
        {"external_id": "U4", "date": "2024-05-01", "amount": "250000000", "person": company.rep_sz.code},
    ]
    assert do_import_fact_rows(company.admin, "order", rows, source="erp").ok
    return company


@pytest.mark.parametrize(
    "language, note, scale, places",
    [("zh-hans", "单位：万元。", 10_000, 2), ("en", "Unit: thousand yuan.", 1_000, 1)],
)
def test_the_note_names_the_unit_of_the_cells(client, sales, language, note, scale, places):
    client.force_login(sales.admin)
    page = client.get(
        "/actuals/summary/",
        {"start": "2024-01-01", "end": "2024-12-31"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    html = page.content.decode()
    assert note in html
    shown = {}
    for row in page.context["rows"] + [page.context["total"]]:
        for value, text in zip(
            [*row["row"].values, row["row"].total], [*row["cells"], row["total"]], strict=True
        ):
            if value is not None:
                shown[text] = value
    assert shown and set(shown) <= set(CELL.findall(html))
    for text, fen in shown.items():
        # A plain number in the note's unit: no 万/亿/K/M or currency symbol of its own.
        assert PLAIN.match(text), text
        assert len(text.rpartition(".")[2]) == places, text
        exact = Decimal(fen) / 100 / scale
        assert abs(Decimal(text.replace(",", "")) - exact) <= Decimal(1).scaleb(-places) / 2, (text, fen)
