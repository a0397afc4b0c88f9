"""The company's fiscal calendar, as every page, endpoint and service computes with it."""

from __future__ import annotations

from salestarget.engine.calendar import FiscalCalendar
from salestarget.metrics.models import FiscalSettings


def fiscal_calendar(settings: FiscalSettings | None = None) -> FiscalCalendar:
    """The calendar of the company's settings (read when not given): fiscal start month, week
    start, working-day country, and whether time progress counts working or calendar days."""
    fs = settings or FiscalSettings.current()
    return FiscalCalendar(
        start_month=fs.fy_start_month,
        week_start=fs.week_start,
        country=fs.country,
        working_days=fs.progress_basis == FiscalSettings.Basis.WORKING,
    )
