"""One fiscal calendar: the dashboard, the recommendations and the API read the same one.

The dashboard's calendar counted time progress in the company's basis while the
recommendation's always said working days: with progress counted in calendar days the two
disagreed about the same company.
"""

from __future__ import annotations

import datetime as dt

import pytest

from salestarget.engine.calendar import FiscalCalendar
from salestarget.metrics.models import FiscalSettings
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import api as targets_api
from salestarget.targets import backtest, forms, recommendations, stored
from salestarget.targets.management.commands import recommend as recommend_command
from salestarget.web import dashboard

pytestmark = pytest.mark.django_db


def test_every_page_and_service_uses_the_company_calendar(client, company):
    FiscalSettings.objects.update_or_create(
        pk=1, defaults={"fy_start_month": 4, "progress_basis": FiscalSettings.Basis.CALENDAR}
    )
    expected = FiscalCalendar(start_month=4, week_start=0, country="CN", working_days=False)
    assert fiscal_calendar() == expected
    for module in (dashboard, recommendations, backtest, stored, forms, targets_api, recommend_command):
        assert module.fiscal_calendar() == expected, module.__name__
    # Time progress on the home page counts calendar days: April 1-30 of a 365-day year.
    summary = dashboard.home_summary(company.admin, today=dt.date(2026, 5, 1))
    assert summary.time_progress == pytest.approx(30 / 365)
    # The recommendation's default is the next fiscal year of that calendar.
    assert forms.RecommendForm.defaults(today=dt.date(2026, 5, 1))["year"] == 2027
    client.force_login(company.admin)
    assert client.get("/api/v1/metrics/fiscal-calendar").json() == {
        "fy_start_month": 4,
        "week_start": 0,
        "country": "CN",
        "progress_basis": "calendar",
        "currency": "CNY",
    }
