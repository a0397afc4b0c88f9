"""Issue 15, "for any metric": the progress of a 新客户数 (new customers) target. Before, every
tracking read refused metrics other than sums. A node's actual is the number of distinct
customers whose first deal falls in the period, credited by the metric's rule to a person and
to the unit that person was in on the first-deal date; every figure equals a pandas count over
the customers."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from salestarget.catalog.models import Customer
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import Membership, TerritoryAssignment
from salestarget.targets.models import Plan, TargetCell
from salestarget.targets.services import do_create_plan
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/tracking/progress"
YEAR = 2024
MONTHS = [dt.date(YEAR, m, 1) for m in range(1, 13)]


@pytest.fixture
def counted(company):
    """A published 2024 new-customers plan (two a month per rep, more for units) and 120
    customers with first deals over 2023-2024; rep_sh2 moves from Shanghai to Hangzhou on
    1 July, and some customers have no owner."""
    c = company
    plan = do_create_plan(
        c.admin, metric=Metric.objects.get(code="new_customers"), period=fiscal_calendar().year(YEAR)
    )
    scenario = plan.scenarios.get(is_primary=True)
    owners = [
        ({"unit": c.hq}, 10),
        ({"unit": c.east}, 6),
        ({"unit": c.south}, 3),
        ({"unit": c.sh}, 4),
        ({"unit": c.hz}, 2),
        ({"unit": c.sz}, 3),
        *(({"person": p}, 2) for p in (c.rep_sh1, c.rep_sh2, c.rep_hz, c.rep_sz)),
    ]
    for owner, per_month in owners:
        TargetCell.objects.filter(scenario=scenario, **owner).delete()
        TargetCell.objects.create(
            scenario=scenario, period_kind="year", period_start=MONTHS[0], target=12 * per_month, **owner
        )
        for start in MONTHS:
            TargetCell.objects.create(
                scenario=scenario, period_kind="month", period_start=start, target=per_month, **owner
            )
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    Membership.objects.filter(person=c.rep_sh2).update(valid_to=dt.date(YEAR, 6, 30))
    MembershipFactory(person=c.rep_sh2, unit=c.hz, valid_from=dt.date(YEAR, 7, 1))
    rng = random.Random(15)
    people = [c.rep_sh1, c.rep_sh2, c.rep_hz, c.rep_sz, None]
    regions = [c.shanghai, c.guangdong]
    for n in range(120):
        CustomerFactory(
            code=f"NC{n:03d}",
            owner=rng.choice(people),
            region=rng.choice(regions),
            first_deal_date=dt.date(YEAR - 1, 1, 1) + dt.timedelta(days=rng.randrange(731)),
        )
    c.plan = Plan.objects.get(pk=plan.pk)
    return c


def customers() -> pd.DataFrame:
    return pd.DataFrame(
        Customer.objects.values("pk", "owner_id", "region_id", "first_deal_date"),
    ).rename(columns={"first_deal_date": "first"})


def team_of(c, person_id: int, day: dt.date):
    """The fixture's placements, written out independently of UnitAtDate."""
    return {
        c.rep_sh1.pk: c.sh,
        c.rep_sh2.pk: c.sh if day < dt.date(YEAR, 7, 1) else c.hz,
        c.rep_hz.pk: c.hz,
        c.rep_sz.pk: c.sz,
    }.get(person_id)


def count(c, df, start, end, unit=None, person=None, everything=False) -> int:
    rows = df[(df["first"] >= start) & (df["first"] <= end)]
    if everything:
        return len(rows)
    if person is not None:
        return int((rows["owner_id"] == person.pk).sum())
    inside = [
        team_of(c, int(o), f) is not None and team_of(c, int(o), f).path.startswith(unit.path)
        for o, f in zip(rows["owner_id"].fillna(0), rows["first"], strict=True)
    ]
    return int(sum(inside))


def get(client, **params):
    answer = client.get(URL, params)
    assert answer.status_code == 200, answer.content
    return answer.json()


@pytest.mark.parametrize("kind", ["month", "quarter", "ytd", "year"])
def test_every_node_counts_its_new_customers(counted, login, kind):
    c = counted
    df = customers()
    as_of = dt.date(YEAR, 8, 20)
    period = fiscal_calendar().period_of({"ytd": "year"}.get(kind, kind), as_of)
    client = login("admin")
    got = get(client, plan=c.plan.pk, period=kind, as_of=as_of.isoformat())
    assert got["figures"]["actual"] == count(c, df, period.start, as_of, everything=True)
    for unit in (c.east, c.sh, c.hz):
        f = get(client, plan=c.plan.pk, unit=unit.pk, period=kind, as_of=as_of.isoformat())
        assert f["figures"]["actual"] == count(c, df, period.start, as_of, unit=unit), unit.code
        for child in f["children"]:
            if child["node"]["kind"] == "person":
                person = next(p for p in (c.rep_sh1, c.rep_sh2, c.rep_hz) if p.pk == child["node"]["id"])
                assert child["figures"]["actual"] == count(c, df, period.start, as_of, person=person)
    # Last year's same stretch, and the year's target as the plan's months.
    last = get(client, plan=c.plan.pk, unit=c.hz.pk, period=kind, as_of=as_of.isoformat())["figures"]
    ly_start, ly_end = period.start.replace(year=YEAR - 1), as_of.replace(year=YEAR - 1)
    assert last["last_year"] == count(c, df, ly_start, ly_end, unit=c.hz)
    if kind in ("year", "month"):
        assert last["target"] == (24 if kind == "year" else 2)


def test_a_team_counts_a_customer_once_and_moves_follow_the_first_deal_date(counted, login):
    """rep_sh2's customers count for Shanghai before 1 July and for Hangzhou after; a customer
    held by two of a team's people under territory credit counts once for the team."""
    c = counted
    df = customers()
    client = login("admin")
    h1 = get(client, plan=c.plan.pk, unit=c.sh.pk, period="year", as_of="2024-06-30")["figures"]
    half = (df["first"] >= MONTHS[0]) & (df["first"] <= dt.date(YEAR, 6, 30))
    assert (half & (df["owner_id"] == c.rep_sh2.pk)).any()
    assert h1["actual"] == count(c, df, MONTHS[0], dt.date(YEAR, 6, 30), unit=c.sh)
    metric = Metric.objects.get(code="new_customers")
    metric.credit_rule = Metric.Credit.TERRITORY
    metric.save()
    for person in (c.rep_sh1, c.rep_sh2):  # both hold Shanghai all year
        TerritoryAssignment.objects.create(person=person, region=c.shanghai, valid_from=dt.date(YEAR, 1, 1))
    got = get(client, plan=c.plan.pk, unit=c.sh.pk, period="month", as_of="2024-03-31")
    march = df[(df["first"] >= dt.date(YEAR, 3, 1)) & (df["first"] <= dt.date(YEAR, 3, 31))]
    shanghai = int((march["region_id"] == c.shanghai.pk).sum())
    assert got["figures"]["actual"] == shanghai
    kids = {k["node"]["id"]: k["figures"]["actual"] for k in got["children"]}
    assert kids[c.rep_sh1.pk] == kids[c.rep_sh2.pk] == shanghai  # each credited, the team once
    # A territory higher up the tree (the whole country, from 15 March) holds its regions' customers.
    TerritoryAssignment.objects.create(person=c.rep_hz, region=c.china, valid_from=dt.date(YEAR, 3, 15))
    hz = get(client, plan=c.plan.pk, person=c.rep_hz.pk, period="month", as_of="2024-03-31")
    assert hz["figures"]["actual"] == int((march["first"] >= dt.date(YEAR, 3, 15)).sum()) > 0


def test_a_rep_sees_only_their_own_and_a_product_line_is_refused_in_words(counted, login):
    c = counted
    df = customers()
    mine = get(login("rep_sh1"), plan=c.plan.pk, person=c.rep_sh1.pk, period="ytd", as_of="2024-08-20")
    assert mine["figures"]["actual"] == count(c, df, MONTHS[0], dt.date(YEAR, 8, 20), person=c.rep_sh1)
    other = {"plan": c.plan.pk, "person": c.rep_sh2.pk, "period": "ytd"}
    assert login("rep_sh1").get(URL, other).status_code == 404
    refused = login("admin").get(
        URL, {"plan": c.plan.pk, "period": "month", "as_of": "2024-08-20", "product": c.product.pk}
    )
    assert refused.status_code == 400 and "产品线" in refused.json()["detail"]


def test_the_dashboard_draws_the_new_customers_curve(counted, login):
    c = counted
    df = customers()
    page = login("admin").get("/tracking/", {"plan": c.plan.pk, "period": "year", "as_of": "2024-08-20"})
    assert page.status_code == 200
    from salestarget.tracking import progress

    line = progress.curve(
        c.admin, c.plan, progress.unit_node(c.hq), fiscal_calendar().year(YEAR), dt.date(YEAR, 8, 20)
    )
    assert line["actual"][7] == count(c, df, MONTHS[0], dt.date(YEAR, 8, 20), everything=True)
    assert line["actual"][8] is None and line["target"] == 120


def test_a_sales_region_keeps_its_own_customers(counted, login):
    c = counted
    df = customers()
    df = df[df["region_id"] == c.guangdong.pk]
    client = login("admin")
    params = {"plan": c.plan.pk, "period": "ytd", "as_of": "2024-08-20", "region": c.guangdong.pk}
    company = get(client, **params)
    assert company["figures"]["actual"] == count(c, df, MONTHS[0], dt.date(YEAR, 8, 20), everything=True)
    team = get(client, **params, unit=c.sh.pk)
    assert team["figures"]["actual"] == count(c, df, MONTHS[0], dt.date(YEAR, 8, 20), unit=c.sh)


def test_the_tracking_table_counts_them_too(counted, login):
    """The CSV of 销售目标跟踪表 for a new-customers plan: each row's actual is the API's count."""
    import csv
    import io

    c = counted
    client = login("admin")
    params = {"plan": c.plan.pk, "period": "month", "as_of": "2024-08-20"}
    answer = client.get("/tracking/table/", {**params, "format": "csv"})
    assert answer.status_code == 200
    rows = {r[0]: r for r in csv.reader(io.StringIO(answer.content.decode("utf-8-sig")))}
    for unit in (c.hq, c.east, c.sh, c.hz):
        figures = get(client, **params, unit=unit.pk)["figures"]
        assert rows[unit.code][3] == str(figures["actual"]), unit.code


def test_the_heat_map_shows_where_new_customers_come_from(counted, login):
    """Region x month of the first deals, for the company and for a team; no product lines."""
    from salestarget.tracking import progress as tracking

    c = counted
    df = customers()
    as_of = dt.date(YEAR, 8, 20)
    period, _ = tracking.resolve_period("month", as_of)
    names = {c.shanghai.pk: c.shanghai.name, c.guangdong.pk: c.guangdong.name}
    year = df[(df["first"] >= MONTHS[0]) & (df["first"] <= as_of)].copy()
    year["month"] = year["first"].map(lambda d: d.month - 1)
    for node, rows in (
        (tracking.unit_node(c.hq), year),
        (tracking.person_node(c.rep_sz), year[year["owner_id"] == c.rep_sz.pk]),
    ):
        parts = tracking.breakdown(c.admin, c.plan, node, period, as_of)
        heat = parts["regions"]
        got = {(heat["names"][y], x): v for x, y, v in heat["cells"]}
        expected = rows.groupby([rows["region_id"].map(names), "month"]).size().to_dict()
        assert got == {k: int(v) for k, v in expected.items()} and parts["products"] is None
    page = login("admin").get("/tracking/", {"plan": c.plan.pk, "as_of": as_of.isoformat()}).content.decode()
    assert 'data-testid="tracking-heat"' in page and 'data-testid="tracking-lines"' not in page
