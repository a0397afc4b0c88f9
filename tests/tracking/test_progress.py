"""Issue 15: where a target stands — every figure of the progress endpoint equals an independent
computation over the raw rows (pandas) and the plan's cells, to the fen, under owner and
territory credit; children, comparisons, periods to date, and who may follow what."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salestarget.actuals.services import do_import_fact_rows
from salestarget.engine.rounding import round_half_up
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import Plan, TargetCell
from salestarget.targets.services import do_create_plan
from tests.actuals.test_credit_summary import independent, territories  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

URL = "/api/v1/tracking/progress"
YEAR = 2024
MONTHS = [dt.date(YEAR, m, 1) for m in range(1, 13)]
# Month targets in fen: a seasonal profile (Spring Festival February low, December high).
PROFILE = [8, 5, 8, 8, 9, 9, 8, 8, 9, 9, 9, 10]


def month_target(base: int, month: int) -> int:
    return base * PROFILE[month - 1]


@pytest.fixture
def published(company):
    """A published 2024 sales plan with month and year targets for every unit and rep."""
    plan = do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(YEAR)
    )
    scenario = plan.scenarios.get(is_primary=True)
    owners = [
        ({"unit": company.hq}, 40_000_00),
        ({"unit": company.east}, 30_000_00),
        ({"unit": company.south}, 10_000_00),
        ({"unit": company.sh}, 20_000_00),
        ({"unit": company.hz}, 10_000_00),
        ({"unit": company.sz}, 10_000_00),
        ({"person": company.rep_sh1}, 10_000_00),
        ({"person": company.rep_sh2}, 10_000_00),
        ({"person": company.rep_hz}, 10_000_00),
        ({"person": company.rep_sz}, 10_000_00),
    ]
    for owner, base in owners:
        months = [month_target(base, m) for m in range(1, 13)]
        TargetCell.objects.filter(scenario=scenario, period_kind="year", **owner).delete()
        TargetCell.objects.create(
            scenario=scenario, period_kind="year", period_start=MONTHS[0], target=sum(months),
            floor=round(sum(months) * 0.9), stretch=round(sum(months) * 1.2), **owner,
        )  # fmt: skip
        for start, target in zip(MONTHS, months, strict=True):
            TargetCell.objects.create(
                scenario=scenario, period_kind="month", period_start=start, target=target,
                floor=round(target * 0.9), stretch=round(target * 1.2), **owner,
            )  # fmt: skip
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    plan.refresh_from_db()
    company.plan = plan
    return company


def sales_rows(c) -> list[dict]:
    """Orders in 2023 and 2024 for the reps, a refund, and a sale with no person."""
    rows = []
    for n, (person, day, amount) in enumerate(
        [
            (c.rep_sh1, "2023-07-03", "1000.50"),
            (c.rep_sh1, "2023-07-20", "2000.00"),
            (c.rep_sh2, "2024-06-28", "999.99"),
            (c.rep_sh1, "2024-07-01", "12345.67"),
            (c.rep_sh1, "2024-07-05", "-345.67"),
            (c.rep_sh2, "2024-07-09", "40000.01"),
            (c.rep_hz, "2024-07-10", "25000.00"),
            (c.rep_sz, "2024-07-12", "7777.77"),
            (c.rep_sz, "2024-07-16", "8888.88"),  # after the as-of date
            (None, "2024-07-11", "500.00"),
        ]
    ):
        region = (c.shanghai if n % 3 else c.guangdong).code
        row = {
            "external_id": f"T{n}",
            "date": day,
            "amount": amount,
            "region": region,
            "product": c.product.code,
        }
        if person is not None:
            row["person"] = person.code
        rows.append(row)
    return rows


def frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["day"] = pd.to_datetime(df["date"]).dt.date
    df["fen"] = df["amount"].map(lambda a: int(Decimal(a) * 100))
    return df


def get(client, **params):
    answer = client.get(URL, params)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_a_month_for_a_team_and_its_people_equals_an_independent_computation(published, login):
    c = published
    rows = sales_rows(c)
    assert do_import_fact_rows(c.admin, "order", rows, source="erp").ok
    df = frame(rows)
    as_of = dt.date(YEAR, 7, 15)
    client = login("admin")
    got = get(client, plan=c.plan.pk, unit=c.sh.pk, period="month", as_of=as_of.isoformat())
    f = got["figures"]
    july = (df["day"] >= dt.date(YEAR, 7, 1)) & (df["day"] <= as_of)
    sh_people = df["person"].isin([c.rep_sh1.code, c.rep_sh2.code])
    actual = int(df[july & sh_people]["fen"].sum())
    target = month_target(20_000_00, 7)
    cal = fiscal_calendar()
    total_days = cal.working_days_between(dt.date(YEAR, 7, 1), dt.date(YEAR, 7, 31))
    elapsed = cal.working_days_between(dt.date(YEAR, 7, 1), as_of)
    expected = round_half_up(Fraction(target * elapsed, total_days))
    assert f["actual"] == actual == 1234567 - 34567 + 4000001
    assert f["target"] == target and f["floor"] == round(target * 0.9) and f["stretch"] == round(target * 1.2)
    assert f["achievement"] == pytest.approx(actual / target, abs=1e-6)
    assert f["gap"] == target - actual
    assert f["time_progress"] == pytest.approx(elapsed / total_days, abs=1e-6)
    assert f["expected_to_date"] == expected and f["pace"] == pytest.approx(actual / expected, abs=1e-6)
    remaining = total_days - elapsed
    assert f["remaining_days"] == remaining
    assert f["required_per_day"] == max(0, math.ceil((target - actual) / remaining))
    assert f["run_rate"] == round_half_up(Fraction(actual * total_days, elapsed))
    # Last year: the same days of July 2023; the previous period: 1-15 June.
    assert f["last_year"] == 100050 and f["change_last_year"] == pytest.approx(actual / 100050 - 1, abs=1e-6)
    assert f["previous"] == 0 and f["change_previous"] is None
    pace = actual / expected
    status = "at_risk" if pace < 0.6 else "lagging" if pace < 0.8 else "ahead" if pace > 1.2 else "on_track"
    assert f["status"] == (status if actual < target else "reached")
    # Children: the team's two reps, each against their own target.
    kids = {(k["node"]["kind"], k["node"]["id"]): k["figures"] for k in got["children"]}
    assert set(kids) == {("person", c.rep_sh1.pk), ("person", c.rep_sh2.pk)}
    for rep in (c.rep_sh1, c.rep_sh2):
        mine = int(df[july & (df["person"] == rep.code)]["fen"].sum())
        assert kids[("person", rep.pk)]["actual"] == mine
        assert kids[("person", rep.pk)]["target"] == month_target(10_000_00, 7)


def test_the_company_counts_every_sale_and_a_quarter_follows_the_plans_months(published, login):
    c = published
    rows = sales_rows(c)
    assert do_import_fact_rows(c.admin, "order", rows, source="erp").ok
    df = frame(rows)
    as_of = dt.date(YEAR, 7, 15)
    got = get(login("admin"), plan=c.plan.pk, period="quarter", as_of=as_of.isoformat())
    assert got["node"]["id"] == c.hq.pk
    f = got["figures"]
    quarter = (df["day"] >= dt.date(YEAR, 7, 1)) & (df["day"] <= as_of)
    assert f["actual"] == int(df[quarter]["fen"].sum())  # the sale with no person too
    targets = [month_target(40_000_00, m) for m in (7, 8, 9)]
    assert f["target"] == sum(targets)
    cal = fiscal_calendar()
    july_share = Fraction(
        cal.working_days_between(dt.date(YEAR, 7, 1), as_of),
        cal.working_days_between(dt.date(YEAR, 7, 1), dt.date(YEAR, 7, 31)),
    )
    share = Fraction(targets[0], sum(targets)) * july_share  # by the plan's months, not a line
    assert f["expected_share"] == pytest.approx(float(share), abs=1e-6)
    assert f["expected_to_date"] == round_half_up(sum(targets) * share)
    children = {(k["node"]["kind"], k["node"]["id"]) for k in got["children"]}
    assert children == {("unit", c.east.pk), ("unit", c.south.pk)}
    # Quarter to date: the target is what the plan expected by now.
    qtd = get(login("admin"), plan=c.plan.pk, period="qtd", as_of=as_of.isoformat())["figures"]
    assert qtd["target"] == f["expected_to_date"] and qtd["actual"] == f["actual"]


def test_a_week_to_date_is_the_weeks_days_so_far(published, login):  # noqa: F811
    c = published
    rows = sales_rows(c)
    assert do_import_fact_rows(c.admin, "order", rows, source="erp").ok
    df = frame(rows)
    client = login("admin")
    as_of = dt.date(YEAR, 7, 10)  # a Wednesday: the week runs from Monday 8 July
    week = get(client, plan=c.plan.pk, period="week", as_of=as_of.isoformat())["figures"]
    wtd = get(client, plan=c.plan.pk, period="wtd", as_of=as_of.isoformat())["figures"]
    so_far = (df["day"] >= dt.date(YEAR, 7, 8)) & (df["day"] <= as_of)
    assert wtd["actual"] == week["actual"] == int(df[so_far]["fen"].sum()) == 65_000_01
    assert wtd["target"] == week["expected_to_date"] and wtd["time_progress"] == 1.0
    page = client.get(f"/tracking/?plan={c.plan.pk}&period=wtd&as_of={as_of.isoformat()}")
    assert '<option value="wtd" selected>本周至今</option>' in page.content.decode()


def test_territory_credit_month_ends_equal_the_independent_computation(territories, login):  # noqa: F811
    c = territories
    plan = do_create_plan(
        c.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(YEAR)
    )
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    by_person, by_unit = independent(c)
    client = login("admin")
    for month in ("2024-03", "2024-07", "2024-11"):
        as_of = (pd.Timestamp(month + "-01") + pd.offsets.MonthEnd(0)).date()
        for unit in (c.east, c.sh, c.hz):
            got = get(client, plan=plan.pk, unit=unit.pk, period="month", as_of=as_of.isoformat())
            assert got["figures"]["actual"] == int(by_unit.get((unit.pk, month), 0)), (unit.code, month)
            for child in got["children"]:
                if child["node"]["kind"] == "person":
                    pid = child["node"]["id"]
                    assert child["figures"]["actual"] == int(by_person.get((pid, month), 0)), (pid, month)
                    assert child["figures"]["status"] == "no_target"


def test_who_may_follow_what(published, login):
    c = published
    as_of = "2024-07-15"
    rep = login("rep_sh1")
    mine = get(rep, plan=c.plan.pk, as_of=as_of)
    assert mine["node"] == {
        "kind": "person",
        "id": c.rep_sh1.pk,
        "code": c.rep_sh1.code,
        "name": c.rep_sh1.name,
    }
    assert rep.get(URL, {"plan": c.plan.pk, "unit": c.sh.pk, "as_of": as_of}).status_code == 403
    assert rep.get(URL, {"plan": c.plan.pk, "person": c.rep_sh2.pk, "as_of": as_of}).status_code == 404
    lead = login("lead_sh")
    team = get(lead, plan=c.plan.pk, as_of=as_of)
    assert team["node"]["id"] == c.sh.pk
    assert lead.get(URL, {"plan": c.plan.pk, "unit": c.hz.pk, "as_of": as_of}).status_code in (403, 404)
    director = get(login("director_east"), plan=c.plan.pk, as_of=as_of)
    assert director["node"]["id"] == c.east.pk
    assert {k["node"]["id"] for k in director["children"]} == {c.sh.pk, c.hz.pk}
    # A period outside the plan, a unit and a person at once: clear refusals.
    admin = login("admin")
    outside = admin.get(URL, {"plan": c.plan.pk, "as_of": "2025-03-01"})
    assert outside.status_code == 400 and "计划期间" in outside.json()["detail"]
    both = admin.get(URL, {"plan": c.plan.pk, "unit": c.sh.pk, "person": c.rep_sh1.pk})
    assert both.status_code == 400


def test_the_page_shows_the_apis_figures(published, login):
    from salestarget.actuals.summary import shown

    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    client = login("lead_sh")
    api = get(client, plan=c.plan.pk, period="month", as_of="2024-07-15")
    page = client.get("/tracking/", {"plan": c.plan.pk, "period": "month", "as_of": "2024-07-15"})
    html = page.content.decode()
    assert page.status_code == 200
    metric = c.plan.metric
    assert shown(api["figures"]["actual"], metric, "zh") in html
    assert shown(api["figures"]["target"], metric, "zh") in html
    for child in api["children"]:
        assert child["node"]["name"] in html and shown(child["figures"]["actual"], metric, "zh") in html
    assert 'data-testid="kpi-rank"' not in html  # a team has no rank of its own


def test_the_region_heat_map_and_product_lines_equal_the_rows(published, login):
    from salestarget.tracking import progress as tracking

    c = published
    rows = sales_rows(c)
    assert do_import_fact_rows(c.admin, "order", rows, source="erp").ok
    df = frame(rows)
    as_of = dt.date(YEAR, 7, 15)
    period, _ = tracking.resolve_period("month", as_of)
    parts = tracking.breakdown(c.admin, c.plan, tracking.unit_node(c.hq), period, as_of)
    heat = parts["regions"]
    assert set(heat["names"]) == {c.shanghai.name, c.guangdong.name} and len(heat["months"]) == 12
    got = {(heat["names"][y], x): v for x, y, v in heat["cells"]}
    year = df[(df["day"] >= dt.date(YEAR, 1, 1)) & (df["day"] <= as_of)].copy()
    year["month"] = year["day"].map(lambda d: d.month - 1)
    names = {c.shanghai.code: c.shanghai.name, c.guangdong.code: c.guangdong.name}
    expected = year.groupby([year["region"].map(names), "month"])["fen"].sum().to_dict()
    assert got == {k: int(v) for k, v in expected.items()}
    july = year[year["day"] >= dt.date(YEAR, 7, 1)]
    assert parts["products"] == [
        {"id": c.product.pk, "name": c.product.name, "actual": int(july["fen"].sum()), "target": None}
    ]
    page = login("admin").get("/tracking/", {"plan": c.plan.pk, "as_of": as_of.isoformat()}).content.decode()
    assert 'data-testid="tracking-heat"' in page and 'data-testid="tracking-lines"' in page


@given(
    start=st.dates(dt.date(2023, 1, 1), dt.date(2025, 12, 31)),
    length=st.integers(0, 800),
)
@settings(max_examples=300, deadline=None)
def test_a_range_splits_into_whole_months_and_edge_days_exactly(start, length):
    from salestarget.actuals.credit import month_split

    end = start + dt.timedelta(days=length)
    edges, months = month_split(start, end)
    covered = set()
    for a, b in edges:
        days = {a + dt.timedelta(days=i) for i in range((b - a).days + 1)}
        assert not covered & days
        covered |= days
    if months is not None:
        first, last = months
        assert first.day == last.day == 1 and first <= last
        day = first
        stop = (last + dt.timedelta(days=32)).replace(day=1)
        while day < stop:
            assert day not in covered
            covered.add(day)
            day += dt.timedelta(days=1)
    assert covered == {start + dt.timedelta(days=i) for i in range(length + 1)}
    # Days are read only at the edges: under a month each, or under two months without a whole one.
    limit = dt.timedelta(days=31 if months is not None else 62)
    assert len(edges) <= 2 and all(b - a < limit for a, b in edges)


def test_a_product_line_or_a_region_narrows_the_figures(published, login):
    c = published
    rows = sales_rows(c)
    assert do_import_fact_rows(c.admin, "order", rows, source="erp").ok
    df = frame(rows)
    scenario = c.plan.scenarios.get(is_primary=True)
    TargetCell.objects.create(
        scenario=scenario, person=c.rep_sh1, region=c.shanghai, period_kind="month", period_start=MONTHS[6],
        target=30_000_00,
    )  # fmt: skip
    client = login("admin")
    july = (df["day"] >= dt.date(YEAR, 7, 1)) & (df["day"] <= dt.date(YEAR, 7, 15))
    for key, value, column in (("region", c.shanghai, "region"), ("region", c.guangdong, "region")):
        got = get(client, plan=c.plan.pk, unit=c.sh.pk, as_of="2024-07-15", **{key: value.pk})
        mine = july & (df[column] == value.code) & df["person"].isin([c.rep_sh1.code, c.rep_sh2.code])
        assert got["figures"]["actual"] == int(df[mine]["fen"].sum())
        assert got["figures"]["target"] is None  # the team has no cells for a region
    rep = get(client, plan=c.plan.pk, person=c.rep_sh1.pk, as_of="2024-07-15", region=c.shanghai.pk)[
        "figures"
    ]
    assert rep["target"] == 30_000_00
    assert rep["actual"] == int(
        df[july & (df["region"] == c.shanghai.code) & (df["person"] == c.rep_sh1.code)]["fen"].sum()
    )
    line = get(client, plan=c.plan.pk, as_of="2024-07-15", product=c.product.pk)["figures"]
    assert line["actual"] == int(df[july]["fen"].sum())  # every row is of the one product
    assert client.get(URL, {"plan": c.plan.pk, "product": 10**9}).status_code == 404


def test_the_dashboard_narrows_to_a_region(published, login):
    from salestarget.actuals.summary import shown

    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    client = login("admin")
    api = get(client, plan=c.plan.pk, as_of="2024-07-15", region=c.guangdong.pk)["figures"]
    page = client.get("/tracking/", {"plan": c.plan.pk, "as_of": "2024-07-15", "region": c.guangdong.pk})
    html = page.content.decode()
    assert f'<option value="{c.guangdong.pk}" selected>' in html
    assert shown(api["actual"], c.plan.metric, "zh") in html


def test_a_week_is_compared_with_the_week_of_the_same_number_last_year(published, login):
    c = published
    rows = [
        {"external_id": "W1", "date": "2023-07-11", "amount": "100.00", "person": c.rep_sh1.code},  # 2023 W28
        {"external_id": "W2", "date": "2023-07-08", "amount": "900.00", "person": c.rep_sh1.code},  # 2023 W27
        {"external_id": "W3", "date": "2024-07-09", "amount": "50.00", "person": c.rep_sh1.code},  # 2024 W28
    ]
    assert do_import_fact_rows(c.admin, "order", rows, source="erp").ok
    # 2024-07-10 is the Wednesday of week 28 (8-14 July); week 28 of 2023 ran 10-16 July.
    f = get(login("admin"), plan=c.plan.pk, person=c.rep_sh1.pk, period="week", as_of="2024-07-10")["figures"]
    assert f["actual"] == 5000 and f["last_year"] == 10000  # not 8-10 July 2023, which holds 900.00


@pytest.mark.parametrize("rule", ["owner", "territory"])
def test_a_nodes_months_in_one_read_equal_a_read_per_month(territories, rule):  # noqa: F811
    """The chance reads a node's last 24 months at once (by_month): each month must be
    what a read of that month alone gives, for units, people and the company, under either rule."""
    from salestarget.tracking import progress as tracking

    c = territories
    Metric.objects.filter(code="sales").update(credit_rule=rule)
    metric = Metric.objects.get(code="sales")
    nodes = [tracking.unit_node(u) for u in (c.hq, c.east, c.sh, c.hz)]
    nodes += [tracking.person_node(p) for p in (c.rep_sh1, c.rep_sh2, c.rep_hz)]
    history = tracking.monthly_history(c.admin, metric, nodes, dt.date(2025, 1, 15))
    for i, month in enumerate(MONTHS):
        end = (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()
        alone = tracking.credited(c.admin, metric, nodes, month, end)
        assert {key: values[12 + i] for key, values in history.items()} == alone, month
    assert any(v for values in history.values() for v in values)


@pytest.mark.parametrize("rule", ["owner", "territory"])
def test_a_unit_read_alone_equals_it_read_beside_others(territories, rule, monkeypatch):  # noqa: F811
    """A card's or a dashboard's few units are each summed whole by the database, a table's many
    units read grouped by unit: both give the same figure, over whole months and edge days, month
    by month, and narrowed to a sales region."""
    from salestarget.actuals import credit
    from salestarget.tracking import progress as tracking

    c = territories
    Metric.objects.filter(code="sales").update(credit_rule=rule)
    metric = Metric.objects.get(code="sales")
    units = [tracking.unit_node(u) for u in (c.east, c.sh, c.hz)]
    both = [*units, tracking.person_node(c.rep_sh1)]
    for part in (tracking.Slice(), tracking.Slice(region=c.shanghai)):
        for start, end in (
            (dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
            (dt.date(2024, 3, 9), dt.date(2024, 8, 20)),
        ):
            with monkeypatch.context() as many:
                many.setattr(credit, "FEW_UNITS", 0)  # as a table's hundreds of units are read
                grouped = tracking.credited(c.admin, metric, both, start, end, part)
                months = tracking.credited(c.admin, metric, both, start, end, part, by_month=True)
            assert tracking.credited(c.admin, metric, both, start, end, part) == grouped
            for node in units:
                assert tracking.credited(c.admin, metric, [node], start, end, part) == {
                    node.key: grouped[node.key]
                }
                alone = tracking.credited(c.admin, metric, [node], start, end, part, by_month=True)
                assert alone == {k: v for k, v in months.items() if k[0] == node.key}
    assert any(grouped.values())
