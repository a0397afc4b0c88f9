"""Issue 15 on real data nobody here wrote (../shared/data/superstore): with a plan made from
history (each month of 2021 + 10%), every figure of the progress service for the company (owner
credit) and for the regional managers (territory credit, from the workbook's People sheet) equals
an independent pandas computation over the file's rows, to the cent."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from scipy.stats import norm

from salestarget.engine.rounding import round_half_up
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import OrgUnit, Person, TerritoryAssignment
from salestarget.targets.models import Plan, TargetCell
from salestarget.targets.services import do_create_plan
from salestarget.tracking import progress as tracking
from tests.actuals.conftest import superstore_csv
from tests.actuals.test_superstore import cli_import
from tests.tracking.test_demo import add_months, history_prior, month_end, month_starts, spread_of

SOURCE = superstore_csv()
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(SOURCE is None, reason="shared/data/superstore is not next to the repository"),
]

YEAR = 2022
AS_OF = dt.date(YEAR, 8, 15)


def rows() -> pd.DataFrame:
    df = pd.read_csv(SOURCE, encoding="utf-8-sig", dtype={"Sales": str})
    df["day"] = pd.to_datetime(df["Order Date"], format="%d/%m/%y").dt.date
    # The import stores each line in whole cents carrying the sub-cent remainder to the next line
    # in file order, so that the stored lines add up to the file's exact total (parsing.Rounder).
    cents, carried = [], Decimal(0)
    for sales in df["Sales"]:
        exact = carried + Decimal(sales) * 100
        whole = exact.quantize(Decimal(1), ROUND_HALF_UP)
        carried = exact - whole
        cents.append(int(whole))
    df["cents"] = cents
    return df


def plan_from_history(df: pd.DataFrame, owners: dict) -> Plan:
    """2022's plan: each owner's 2021 months + 10% (owners: {cell owner kwargs: row mask})."""
    admin = get_user_model().objects.get(username="planner")
    plan = do_create_plan(admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(YEAR))
    scenario = plan.scenarios.get(is_primary=True)
    for owner, mask in owners:
        last = df[mask & (df["day"] >= dt.date(YEAR - 1, 1, 1)) & (df["day"] <= dt.date(YEAR - 1, 12, 31))]
        by_month = last.groupby(last["day"].map(lambda d: d.month))["cents"].sum()
        months = [round_half_up(Fraction(int(by_month.get(m, 0)) * 11, 10)) for m in range(1, 13)]
        TargetCell.objects.filter(scenario=scenario, period_kind="year", **owner).delete()
        TargetCell.objects.create(
            scenario=scenario,
            period_kind="year",
            period_start=dt.date(YEAR, 1, 1),
            target=sum(months),
            **owner,
        )
        for m, target in enumerate(months, 1):
            TargetCell.objects.create(
                scenario=scenario,
                period_kind="month",
                period_start=dt.date(YEAR, m, 1),
                target=target,
                **owner,
            )
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    plan.refresh_from_db()
    return plan


def independent(df, mask, target_months: list[int], period: tuple[dt.date, dt.date]) -> dict:
    """Actual, target, expected to date, pace, needed per day, the projections and the chance,
    computed here."""
    cal = fiscal_calendar()
    start, end = period

    def total(a: dt.date, b: dt.date) -> int:
        return int(df[mask & (df["day"] >= a) & (df["day"] <= b)]["cents"].sum())

    actual = total(start, AS_OF)
    months = [dt.date(YEAR, m, 1) for m in range(start.month, end.month + 1)]
    targets = [target_months[m.month - 1] for m in months]
    share = Fraction(0)
    for m, t in zip(months, targets, strict=True):
        last = (m.replace(month=m.month + 1) if m.month < 12 else dt.date(YEAR + 1, 1, 1)) - dt.timedelta(
            days=1
        )
        days = cal.working_days_between(m, last)
        done = cal.working_days_between(m, min(AS_OF, last)) if AS_OF >= m else 0
        share += Fraction(t, sum(targets)) * Fraction(done, days)
    target = sum(targets)
    expected = round_half_up(target * share)
    remaining = cal.working_days_between(AS_OF + dt.timedelta(days=1), end)
    elapsed = cal.working_days_between(start, AS_OF)
    # The projection starts from what the 24 months before the period expect of it, trusts the
    # pace seen against that with weight s², and the chance is a normal around it.
    history = [total(m, month_end(m)) for m in month_starts(add_months(start, -24), add_months(start, -1))]
    prior = history_prior(history, len(months))
    base = prior or target
    trust = share * share
    projection = actual + base * (1 - share) * (trust * Fraction(actual) / (base * share) + 1 - trust)
    sd = spread_of(history[12:], len(months)) * base * math.sqrt(1 - share)
    return {
        "prior": prior,
        "run_rate": round_half_up(Fraction(actual * (elapsed + remaining), elapsed)),
        "seasonal": round_half_up(actual / share),
        "projection": round_half_up(projection),
        "chance": float(norm.sf(target, loc=float(projection), scale=sd)),
        "actual": actual,
        "target": target,
        "expected_to_date": expected,
        "pace": actual / expected,
        "required_per_day": max(0, math.ceil((target - actual) / remaining)),
        "last_year": int(
            df[
                mask
                & (df["day"] >= start.replace(year=YEAR - 1))
                & (df["day"] <= AS_OF.replace(year=YEAR - 1))
            ]["cents"].sum()
        ),
    }


def check(found: dict, expected: dict) -> None:
    for key in (
        "actual", "target", "expected_to_date", "required_per_day", "last_year",
        "prior", "run_rate", "seasonal", "projection",
    ):  # fmt: skip
        assert found[key] == expected[key], key
    assert found["prior"] is not None  # three years of history before 2022
    assert found["pace"] == pytest.approx(expected["pace"], abs=1e-6)
    assert found["chance"] == pytest.approx(expected["chance"], abs=1e-3)


def test_company_and_regional_managers_against_pandas():
    get_user_model().objects.create_superuser("planner", password="pw-for-tests-only")
    summary = cli_import(SOURCE)
    assert summary["status"] == "applied"
    df = rows()
    everything = df["cents"] == df["cents"]
    company = OrgUnit.objects.create(code="HQ", name="Superstore", kind=OrgUnit.Kind.COMPANY)
    plan = plan_from_history(df, [({"unit": company}, everything)])
    user = get_user_model().objects.get(username="planner")
    node = tracking.unit_node(company)
    cells = TargetCell.objects.filter(unit=company, period_kind="month").order_by("period_start")
    company_months = [c.target for c in cells]
    for kind, period in (
        ("month", (dt.date(YEAR, 8, 1), dt.date(YEAR, 8, 31))),
        ("quarter", (dt.date(YEAR, 7, 1), dt.date(YEAR, 9, 30))),
    ):
        got = tracking.progress(user, plan, node, kind, AS_OF)["figures"]
        check(got, independent(df, everything, company_months, period))

    # Territory credit: the People sheet's regional managers, each credited with their region.
    xls = SOURCE.with_name("Sample - Superstore.xls")
    if not xls.exists():
        pytest.skip("no Superstore.xls")
    out = io.StringIO()
    call_command(
        "import", "territories", str(xls), "--sheet", "People", "--create-missing", "--json", stdout=out
    )
    assert json.loads(out.getvalue())["status"] == "applied"
    metric = Metric.objects.get(code="sales")
    metric.credit_rule = Metric.Credit.TERRITORY
    metric.save()
    managers = {a.person_id: a.region.code for a in TerritoryAssignment.objects.select_related("region")}
    assert len(managers) == 4
    plan.delete()
    people = Person.objects.filter(pk__in=managers)
    owners = [({"person": p}, df["Region"] == managers[p.pk]) for p in people]
    plan = plan_from_history(df, owners)
    for p in people:
        mask = df["Region"] == managers[p.pk]
        months = [
            c.target
            for c in TargetCell.objects.filter(person=p, period_kind="month").order_by("period_start")
        ]
        got = tracking.progress(user, plan, tracking.person_node(p), "quarter", AS_OF)["figures"]
        check(got, independent(df, mask, months, (dt.date(YEAR, 7, 1), dt.date(YEAR, 9, 30))))
