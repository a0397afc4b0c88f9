"""The home page's year so far, months and regions read the month and company grains (a row a
month, not one a day per rep: 441 -> 23 ms on the medium demo): every figure still equals a
pandas sum over the raw facts, for the administrator (every sale, credited or not), a team lead
and a rep."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from salestarget.actuals.models import Fact
from salestarget.actuals.selectors import top_region_names
from salestarget.actuals.services import do_import_fact_rows
from salestarget.web.dashboard import home_summary
from tests.tracking.test_progress import published, sales_rows  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2024, 7, 16)  # the home page counts up to yesterday


def facts() -> pd.DataFrame:
    rows = Fact.objects.filter(kind="order").values("date", "amount", "person_id", "unit__path", "region_id")
    df = pd.DataFrame(list(rows))
    df["month"] = df["date"].map(lambda d: d.replace(day=1))
    return df


@pytest.mark.parametrize("username", ["admin", "lead_sh", "rep_sh1"])
def test_the_home_figures_equal_the_facts(published, username):  # noqa: F811
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    df = facts()
    mine = {
        "admin": pd.Series(True, index=df.index),  # the company counts every sale
        "lead_sh": df["unit__path"].fillna("").str.startswith(c.sh.path),
        "rep_sh1": df["person_id"] == c.rep_sh1.pk,
    }[username]
    df = df[mine]
    year = df[(df["date"] >= dt.date(2024, 1, 1)) & (df["date"] <= TODAY - dt.timedelta(days=1))]
    last = df[(df["date"] >= dt.date(2023, 1, 1)) & (df["date"] <= dt.date(2023, 7, 15))]
    user = c.admin if username == "admin" else getattr(c, username).user
    summary = home_summary(user, today=TODAY)
    assert summary.sales_ytd == int(year["amount"].sum()) != 0
    assert summary.sales_last_ytd == int(last["amount"].sum())
    by_month = year.groupby("month")["amount"].sum()
    assert [v or 0 for v in summary.sales_by_month[:7]] == [
        int(by_month.get(dt.date(2024, m, 1), 0)) for m in range(1, 8)
    ]
    names = top_region_names()
    by_region = year.groupby(year["region_id"].map(lambda r: names.get(r, "")))["amount"].sum()
    assert {name: v for name, v in summary.by_region if v} == {
        name or "未分配": int(v) for name, v in by_region.items() if v
    }


def test_a_region_of_net_refunds_is_named_under_the_ring_not_drawn_in_it(published, client):  # noqa: F811
    """A region whose refunds outweigh its sales has no slice to draw: it was a legend entry with
    a colour and "0.0%" beside the regions that sold. Now the ring holds the regions with net
    sales (shares adding up to 100.0%) and the page names the other under it, with its amount."""
    import time_machine

    from salestarget.web.dashboard import charts
    from tests.factories import RegionFactory

    c = published
    north = RegionFactory(code="NC", name="华北地区")
    rows = sales_rows(c) + [
        {"external_id": "NC1", "date": "2024-07-02", "amount": "100.00", "region": north.code},
        {"external_id": "NC2", "date": "2024-07-03", "amount": "-400.00", "region": north.code},
    ]
    assert do_import_fact_rows(c.admin, "order", rows, source="erp").ok
    summary = home_summary(c.admin, today=TODAY)
    assert dict(summary.by_region)["华北地区"] == -30_000
    ring = charts(summary)["regions"]
    drawn = [d["name"] for d in ring["series"][0]["data"]]
    assert "华北地区" not in drawn and drawn
    assert "华北地区" not in ring["stShares"]
    assert sum(Decimal(v.rstrip("%")) for v in ring["stShares"].values()) == Decimal("100.0")
    client.force_login(c.admin)
    with time_machine.travel(dt.datetime(2024, 7, 16, 9, 0)):
        page = client.get("/").content.decode()
    note = page.split('data-testid="net-refunds"')[1].split("</p>")[0]
    assert "退款多于销售（未计入环形图）：" in note and ">华北地区 -300<" in note
