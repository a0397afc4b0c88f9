"""The monthly summary (月度汇总) in a browser: at 1440 px the twelve months and the 合计 column
fit inside the table's box; on a 390 px phone the table scrolls inside its own box, not the page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"1440": {"width": 1440, "height": 900}, "390": {"width": 390, "height": 844}}

# The table's box and the right edge of its last (合计) column, header and cells.
MEASURE = """() => {
  const box = document.querySelector("[data-testid=summary-box]");
  const table = document.querySelector("[data-testid=summary-table]");
  const b = box.getBoundingClientRect();
  const last = [...document.querySelectorAll("[data-testid=summary-table] tr > :last-child")];
  return {
    boxLeft: b.left, boxRight: b.right, clientWidth: box.clientWidth, scrollWidth: box.scrollWidth,
    // On a phone the table itself is the scrolling element (app.css).
    scrolls: box.scrollWidth > box.clientWidth || table.scrollWidth > table.clientWidth,
    totalRight: Math.max(...last.map((c) => c.getBoundingClientRect().right)),
    page: document.documentElement.scrollWidth,
  };
}"""


@pytest.fixture
def year_of_sales(company):
    """A year of orders for every rep, large enough for 万 in each cell and 亿 in the total."""
    from salestarget.actuals.services import do_import_fact_rows

    reps = [company.rep_sh1, company.rep_sh2, company.rep_hz, company.rep_sz, company.lead_sh]
    rows = [
        {
            "external_id": f"Y{n}-{month}",
            "date": f"2024-{month:02d}-15",
            "amount": f"{987654.32 * (n + 1) + 12345.67 * month:.2f}",
            "person": rep.code,
        }
        for n, rep in enumerate(reps)
        for month in range(1, 13)
    ]
    assert do_import_fact_rows(company.admin, "order", rows, source="erp").ok
    return company


def _open(page_for, live_server, company, size, language):
    page = page_for("admin", company.password, phone=size == "390")
    page.set_viewport_size(SIZES[size])
    if language == "en":
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/actuals/summary/?start=2024-01-01&end=2024-12-31")
    page.get_by_test_id("summary-table").wait_for()
    return page


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_total_column_fits_at_1440(page_for, live_server, year_of_sales, language):
    page = _open(page_for, live_server, year_of_sales, "1440", language)
    m = page.evaluate(MEASURE)
    screenshot(page, f"summary-fit-1440-{language}")
    assert m["page"] <= 1440, m
    assert m["totalRight"] <= m["boxRight"] + 0.5, m
    assert m["scrollWidth"] <= m["clientWidth"], m
    # Two years do not fit: the months scroll inside the box, the total column stays in view.
    page.goto(f"{live_server.url}/actuals/summary/?start=2023-01-01&end=2024-12-31")
    m = page.evaluate(MEASURE)
    screenshot(page, f"summary-fit-1440-24-months-{language}")
    assert m["page"] <= 1440 and m["scrolls"], m
    assert m["totalRight"] <= m["boxRight"] + 0.5, m


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_table_scrolls_in_its_box_on_a_phone(page_for, live_server, year_of_sales, language):
    page = _open(page_for, live_server, year_of_sales, "390", language)
    m = page.evaluate(MEASURE)
    screenshot(page, f"summary-fit-390-{language}")
    assert m["page"] <= 390, "the page itself must not scroll sideways"
    assert m["boxLeft"] >= 0 and m["boxRight"] <= 390, m
    assert m["scrolls"], "the months scroll inside the table's box"
