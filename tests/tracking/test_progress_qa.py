"""Figures an auditor found wrong against the raw tables (QA, 2026-12-04): a finished period
compared with part of the previous one, and periods read to date projecting "to their end"."""

from __future__ import annotations

import datetime as dt

import pytest

from salestarget.actuals.services import do_import_fact_rows
from salestarget.engine.calendar import Period
from salestarget.tracking import progress as tracking
from tests.tracking.test_progress import published, sales_rows  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def sale(c, n: int, day: str, amount: str) -> dict:
    return {"external_id": f"QA{n}", "date": day, "amount": amount, "person": c.rep_sh1.code,
            "region": c.shanghai.code, "product": c.product.code}  # fmt: skip


def test_a_finished_month_is_compared_with_the_whole_of_a_longer_previous_month(published):  # noqa: F811
    """June (30 days) against May: 31 May counts. Before, the comparison stopped at 30 May."""
    c = published
    rows = [
        sale(c, 1, "2024-05-30", "100.00"),
        sale(c, 2, "2024-05-31", "200.00"),
        sale(c, 3, "2024-06-10", "50.00"),
    ]
    assert do_import_fact_rows(c.admin, "order", rows, source="erp").ok
    node = tracking.person_node(c.rep_sh1)
    figures = tracking.progress(c.admin, c.plan, node, "month", dt.date(2024, 6, 30))["figures"]
    assert figures["previous"] == 300_00
    # Unfinished, it is still the same stretch of days: 1-10 June against 1-10 May.
    assert tracking.progress(c.admin, c.plan, node, "month", dt.date(2024, 6, 10))["figures"]["previous"] == 0


def test_a_finished_february_is_compared_with_all_of_last_years_february():
    """February 2025 (28 days) a year after February 2024 (29 days): the 29th counts."""
    february = Period("month", dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    assert tracking._last_year(february, dt.date(2025, 2, 28)) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert tracking._last_year(february, dt.date(2025, 2, 10)) == (dt.date(2024, 2, 1), dt.date(2024, 2, 10))


@pytest.mark.parametrize("kind", ["ytd", "qtd", "mtd"])
def test_a_period_read_to_date_does_not_project_to_its_end(published, kind):  # noqa: F811
    """Read to date, the period ends today: the run-rate and season projections were the actual
    itself and the chance 0% or 100%, shown as if they said where the period was heading."""
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    found = tracking.progress(c.admin, c.plan, tracking.unit_node(c.sh), kind, dt.date(2024, 7, 15))
    for figures in [found["figures"], *(k["figures"] for k in found["children"])]:
        assert figures["actual"] != 0 or figures["target"]
        assert (figures["run_rate"], figures["seasonal"], figures["projection"], figures["chance"]) == (
            None,
        ) * 4
        assert figures["target"] is not None and figures["achievement"] is not None  # still compared to date
