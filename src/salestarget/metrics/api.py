"""Metrics and the company settings: read by everyone signed in, changed through
``metrics.services`` (company settings: administrators; metrics: administrators and sales
operations). A PATCH names the ``version`` it read; a newer one answers 409."""

from typing import Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from salestarget.core.api_contract import BodyIn, IsoDate, Text, Whole, responses
from salestarget.core.money import CURRENCIES
from salestarget.metrics import selectors, services
from salestarget.metrics.models import CalendarDay, FiscalSettings, Metric

router = Router(tags=["metrics"])
settings_router = Router(tags=["settings"])

Version = Whole(1, 2**31 - 1, description="the version you read; a newer one answers 409")


class MetricOut(Schema):
    id: int
    code: str
    name_zh: str
    name_en: str
    unit: str
    decimals: int
    direction: str
    aggregation: str
    fact_kind: str
    stage: str
    numerator_id: int | None
    denominator_id: int | None
    credit_rule: str
    sort_order: int
    active: bool
    version: int


class FiscalOut(Schema):
    fy_start_month: int
    week_start: int
    country: str
    progress_basis: str
    currency: str


@router.get("/", response=responses(list[MetricOut]))
def list_metrics(request):
    return Metric.objects.restrict(request.user).filter(active=True)


@router.get("/fiscal-calendar", response=responses(FiscalOut))
def fiscal_calendar(request):
    """The calendar every page and recommendation computes with."""
    settings = FiscalSettings.current()
    cal = selectors.fiscal_calendar(settings)
    return FiscalOut(
        fy_start_month=cal.start_month,
        week_start=cal.week_start,
        country=cal.country,
        progress_basis=cal.basis,
        currency=settings.currency,
    )


class MetricChangeIn(BodyIn):
    """The fields to change; those left out (or null) stay as they are."""

    version: Version | None = None
    name_zh: Text(50, min_length=1) | None = None
    name_en: Text(50, min_length=1) | None = None
    unit: Text(16) | None = None
    decimals: Whole(0, 4) | None = Field(None, description="refused once the metric has targets")
    credit_rule: Literal[tuple(Metric.Credit.values)] | None = None
    direction: Literal[tuple(Metric.Direction.values)] | None = None
    stage: Text(32) | None = None
    active: bool | None = None
    sort_order: Whole(0, 32767) | None = None


def _changes(body: BodyIn) -> dict:
    return body.model_dump(exclude_none=True, exclude={"version"})


@router.patch("/{code}", response=responses(MetricOut, 400, 403, 404, 409, 413, 422))
def update_metric(request, code: Text(32), body: MetricChangeIn):
    """Change a metric's names, unit, decimals, credit rule, direction, stage, order or whether it
    is active (administrators and sales operations). Code and aggregation stay as set up."""
    metric = get_object_or_404(Metric.objects.restrict(request.user), code=code)
    try:
        return services.do_update_metric(request.user, metric, version=body.version, **_changes(body))
    except services.StaleEdit as exc:
        raise HttpError(409, str(exc)) from exc


class CompanySettingsOut(Schema):
    currency: str = Field(description="ISO 4217 code; amounts are always in hundredths of it")
    currency_name: str
    currency_symbol: str
    currency_digits: int = Field(description="decimals shown (0 for JPY); storage keeps 2")
    fy_start_month: int
    week_start: int = Field(description="0 Monday, 6 Sunday")
    progress_basis: str
    version: int


class CompanySettingsIn(BodyIn):
    """The fields to change; those left out (or null) stay as they are."""

    version: Version | None = None
    currency: Literal[tuple(CURRENCIES)] | None = None
    fy_start_month: Whole(1, 12) | None = None
    week_start: Whole(0, 6, description="0 Monday or 6 Sunday") | None = None
    progress_basis: Literal[tuple(FiscalSettings.Basis.values)] | None = None


def _company_out(request, row: FiscalSettings) -> CompanySettingsOut:
    from django.utils.translation import get_language

    from salestarget.core.money import get_currency

    cur, lang = get_currency(row.currency), get_language() or "zh"
    return CompanySettingsOut(
        currency=cur.code,
        currency_name=cur.name(lang),
        currency_symbol=cur.symbol(lang),
        currency_digits=cur.digits,
        fy_start_month=row.fy_start_month,
        week_start=row.week_start,
        progress_basis=row.progress_basis,
        version=row.version,
    )


@settings_router.get("/company", response=responses(CompanySettingsOut))
def company_settings(request):
    """The company's currency and calendar (what every amount and period is in)."""
    return _company_out(request, FiscalSettings.current())


@settings_router.patch("/company", response=responses(CompanySettingsOut, 400, 403, 409, 413, 422))
def update_company_settings(request, body: CompanySettingsIn):
    """Change the company's currency, fiscal year start, week start or progress basis
    (administrators only)."""
    try:
        row = services.do_update_company_settings(request.user, version=body.version, **_changes(body))
    except services.StaleEdit as exc:
        raise HttpError(409, str(exc)) from exc
    return _company_out(request, row)


CalendarYearParam = Whole(*services.CALENDAR_YEARS, description="the calendar year")


class CalendarDayOut(Schema):
    date: str = Field(description="YYYY-MM-DD")
    kind: str = Field(description="holiday (day off), workday (make-up working day) or company_off")
    name: str
    origin: str = Field(description="company, library or estimate")


class CalendarYearOut(Schema):
    year: int
    source: str = Field(
        description="company (entered by the company), library (announced days the app ships) or "
        "estimate (holidays computed from the lunar calendar, no make-up days: working days are estimated)"
    )
    estimated: bool
    days: list[CalendarDayOut]


class CalendarDayIn(BodyIn):
    date: IsoDate
    kind: Literal[tuple(CalendarDay.Kind.values)]
    name: Text(50) = ""


class CalendarYearIn(BodyIn):
    """Every public holiday, make-up working day and company day off of the year: they replace
    the year's days. At least one holiday makes the year the company's; an empty list gives it
    back to the built-in calendar."""

    days: list[CalendarDayIn] = Field(max_length=366)


def _calendar_out(year: int) -> CalendarYearOut:
    cal = selectors.calendar_year(year)
    return CalendarYearOut(
        year=year,
        source=cal.source,
        estimated=cal.estimated,
        days=[
            CalendarDayOut(date=d.date.isoformat(), kind=d.kind, name=d.name, origin=d.origin)
            for d in cal.days
        ],
    )


@settings_router.get("/calendar/{year}", response=responses(CalendarYearOut, 422))
def calendar_year(request, year: CalendarYearParam):
    """The year's public holidays, make-up working days and company days off, and where they
    come from (every working-day figure of the app counts with them)."""
    return _calendar_out(year)


@settings_router.put("/calendar/{year}", response=responses(CalendarYearOut, 400, 403, 413, 422))
def set_calendar_year(request, year: CalendarYearParam, body: CalendarYearIn):
    """Replace the year's days (administrators only); a wrong day refuses them all with 400,
    naming each."""
    services.do_set_calendar_year(request.user, year, [(d.date, d.kind, d.name) for d in body.days])
    return _calendar_out(year)
