"""Issue 17: a scope's exposure follows its data's rhythm (weekly exports are counted in their export
days), and months before a series' first fact are unknown, not zero."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import escape

from salestarget.actuals.models import DailyRollup
from salestarget.engine.cadence import DAILY, Cadence
from salestarget.engine.calendar import add_months
from salestarget.engine.forecast import SINGLE_CANDIDATES, SeriesInput, forecast_many, forecast_series
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import history, stored
from salestarget.targets.labels import exposure_words
from salestarget.targets.recommendations import forecast_basis
from salestarget.targets.scope import resolve_period, resolve_scope

pytestmark = pytest.mark.django_db

FRIDAY = 4
DAY = dt.timedelta(days=1)


def admin():
    return get_user_model().objects.get(username="admin")


def next_year():
    return resolve_period(fiscal_calendar())


def last_months(n: int) -> list[dt.date]:
    """The ``n`` months up to the last complete one (the history's end for next year's target)."""
    history_end = add_months(timezone.localdate().replace(day=1), -1)
    return [add_months(history_end, i - n + 1) for i in range(n)]


def days_of(month: dt.date, weekdays: set[int]) -> list[dt.date]:
    days = [month + i * DAY for i in range((add_months(month, 1) - month).days)]
    return [d for d in days if d.weekday() in weekdays]


def write(company, person, unit, days: list[dt.date], amounts) -> None:
    DailyRollup.objects.bulk_create(
        DailyRollup(
            day=day,
            kind="order",
            person_id=person.pk,
            unit_id=unit.pk,
            product_id=company.product.pk,
            region_id=company.shanghai.pk,
            amount=int(amount),
        )
        for day, amount in zip(days, amounts, strict=True)
    )


def test_friday_exports_are_forecast_per_reporting_friday(company, client):
    """30 months of exports every Friday, the same amount each week give or take 3%: the months
    are Friday counts, so a five-Friday month is forecast about 5/4 of a four-Friday one."""
    fridays = [d for m in last_months(30) for d in days_of(m, {FRIDAY})]
    rng = np.random.default_rng(17)
    write(company, company.rep_sh1, company.sh, fridays, 500_000 * rng.lognormal(0, 0.03, len(fridays)))

    client.force_login(company.admin)
    period = next_year()
    page = client.get("/targets/recommend/", {"unit": company.hq.pk, "year": period.fiscal_year, "p_pct": 80})
    assert page.status_code == 200
    rec = page.context["rec"]
    assert rec.cadence == Cadence("weekly", FRIDAY)
    assert escape(exposure_words(rec.cadence)) in page.content.decode()
    assert "星期五" in exposure_words(rec.cadence)

    # The exposures are the real Friday counts of the history and the forecast months.
    hist_fridays = np.array([len(days_of(m, {FRIDAY})) for m in rec.history_months], dtype=float)
    future_fridays = np.array([len(days_of(m, {FRIDAY})) for m in rec.forecast_months], dtype=float)
    rows = history.rollups(admin(), history.metric_for("sales"), rec.scope, *history.window(rec.history_end))
    wd_hist, wd_future, cadence = history.exposure(
        fiscal_calendar(), rows, rec.history_months, rec.forecast_months
    )
    assert cadence == rec.cadence
    assert wd_hist.tolist() == hist_fridays.tolist() and wd_future.tolist() == future_fridays.tolist()
    assert {4.0, 5.0} == set(future_fridays.tolist())

    # ... and they are what the engine got: the forecast is the one made on them.
    own = np.asarray(rec.history, dtype=float)
    horizon = len(rec.forecast_months)
    expected = forecast_many(
        [SeriesInput("scope", own, hist_fridays, future_fridays, own)],
        horizon,
        period_start=rec.forecast.period_start,
        candidates=SINGLE_CANDIDATES,
    )["scope"]
    assert rec.forecast.total_mean == expected.total_mean
    assert rec.forecast.mean.tolist() == expected.mean.tolist()
    per_friday = rec.forecast.mean / future_fridays
    assert per_friday.max() < 1.1 * per_friday.min()
    five = rec.forecast.mean[future_fridays == 5]
    four = rec.forecast.mean[future_fridays == 4]
    assert five.min() > 1.15 * four.max()

    # A stored basis keeps the cadence: a second visit says the same.
    again = stored.recommend(admin(), rec.scope, period)
    assert again.cadence == rec.cadence


def test_unknown_months_are_not_zero(company):
    """深圳组's first fact is 10 months before the history's end (上海组 has 30): its forecast is
    made from those 10 months only, and 黄深's months before his first sale are unknown."""
    mwf = {0, 2, 4}
    rng = np.random.default_rng(5)
    sh_days = [d for m in last_months(30) for d in days_of(m, mwf)]
    sz_days = [d for m in last_months(10) for d in days_of(m, mwf)]
    write(company, company.rep_sh1, company.sh, sh_days, 80_000 * rng.lognormal(0, 0.2, len(sh_days)))
    write(company, company.rep_sz, company.sz, sz_days, 60_000 * rng.lognormal(0, 0.2, len(sz_days)))
    cal, period, user = fiscal_calendar(), next_year(), admin()
    months10 = last_months(10)

    basis = forecast_basis(user, resolve_scope(user, unit_id=company.sz.pk), period, bottom_up=False)
    assert basis.cadence == DAILY
    assert basis.history_start == months10[0] and basis.history_months == months10
    assert len(basis.history) == 10 and all(v > 0 for v in basis.history)
    fc = basis.forecast
    future = basis.forecast_months

    def ten_months(values, period_start):
        """The forecast of ``values`` over the ten months alone, with the company's working days."""
        return forecast_series(
            values,
            len(future),
            working_days=history.working_days(cal, months10),
            target_working_days=history.working_days(cal, future),
            period_start=period_start,
        )

    expected = ten_months(basis.history, fc.period_start)
    assert fc.history_months == 10 and fc.filled_months == 0
    assert fc.total_mean == expected.total_mean and fc.mean.tolist() == expected.mean.tolist()

    # The company's reps: 黄深's 20 months before his first sale are NaN, so his forecast is made
    # from his own 10 months, as if he had been forecast alone.
    company_basis = forecast_basis(user, resolve_scope(user), period)
    assert company_basis.history_start == last_months(30)[0]
    months30 = company_basis.history_months
    sums = history.monthly(
        history.credited(user, history.metric_for("sales"), resolve_scope(user)).filter(
            person_id=company.rep_sz.pk
        ),
        "amount",
        months30[0],
        months30[-1],
    )
    own = [sums[(None, m)] for m in months10]
    rep = company_basis.rep_forecasts[company.rep_sz.pk]
    alone = ten_months(own, rep.period_start)
    assert rep.history_months == 10 and rep.filled_months == 0
    assert rep.total_mean == alone.total_mean and rep.mean.tolist() == alone.mean.tolist()
    assert company_basis.rep_forecasts[company.rep_sh1.pk].history_months == 30
    assert company.rep_sz.pk not in company_basis.new_reps
