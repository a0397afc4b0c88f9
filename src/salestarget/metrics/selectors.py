"""The company's fiscal calendar, as every page, endpoint and service computes with it."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass

from django.utils.functional import lazy

from salestarget.core.memo import remembered
from salestarget.core.money import Currency, get_currency
from salestarget.engine.calendar import FiscalCalendar, library_days
from salestarget.metrics.models import CalendarDay, FiscalSettings

# The company's currency code, read once per request: a page formats hundreds of amounts.
# Outside a request (commands, jobs) there is no cache and each call reads the row, so a
# worker never keeps a currency that was changed since (metrics/apps.py sets and clears it).
_request_cache: ContextVar[dict | None] = ContextVar("company_currency", default=None)


def fiscal_calendar(settings: FiscalSettings | None = None) -> FiscalCalendar:
    """The calendar of the company's settings (read when not given, once per request like the
    currency: a dashboard asks for it seven times): fiscal start month, week start, working-day
    country, and whether time progress counts working or calendar days."""
    cache = _request_cache.get() if settings is None else None
    if cache is not None and "fiscal_calendar" in cache:
        return cache["fiscal_calendar"]
    fs = settings or FiscalSettings.current()
    overrides, company_years = company_days()
    calendar = FiscalCalendar(
        start_month=fs.fy_start_month,
        week_start=fs.week_start,
        country=fs.country,
        working_days=fs.progress_basis == FiscalSettings.Basis.WORKING,
        overrides=overrides,
        company_years=company_years,
    )
    if cache is not None:
        cache["fiscal_calendar"] = calendar
    return calendar


def company_days() -> tuple[tuple[tuple[dt.date, bool], ...], tuple[int, ...]]:
    """The company's working calendar as the engine takes it: (date, is a working day) for each
    CalendarDay, and the years the company entered (those with a public holiday). Read once per
    request, like the currency."""
    cache = _request_cache.get()
    if cache is not None and "calendar_days" in cache:
        return cache["calendar_days"]
    rows = list(CalendarDay.objects.order_by("date").values_list("date", "kind"))
    overrides = tuple((day, kind == CalendarDay.Kind.WORKDAY) for day, kind in rows)
    years = tuple(sorted({day.year for day, kind in rows if kind == CalendarDay.Kind.HOLIDAY}))
    if cache is not None:
        cache["calendar_days"] = (overrides, years)
    return overrides, years


# Where a year's working days come from, for people: the company's entries, the library's
# announced days, or the library's estimate (holidays from the lunar calendar, no 调休).
SOURCES = {"company": "company", "chinese_calendar": "library", "holidays": "library"}


@dataclass(frozen=True)
class CalendarEntry:
    date: dt.date
    kind: str  # CalendarDay.Kind
    name: str
    origin: str  # "company", "library" or "estimate"

    @property
    def kind_label(self) -> str:
        return str(CalendarDay.Kind(self.kind).label)


@dataclass(frozen=True)
class CalendarYear:
    year: int
    source: str  # "company", "library" or "estimate"
    days: list[CalendarEntry]

    @property
    def estimated(self) -> bool:
        return self.source == "estimate"

    @property
    def days_off(self) -> list[CalendarEntry]:
        return [d for d in self.days if d.kind != CalendarDay.Kind.WORKDAY]

    @property
    def workdays(self) -> list[CalendarEntry]:
        return [d for d in self.days if d.kind == CalendarDay.Kind.WORKDAY]


def calendar_year(year: int, lang: str | None = None) -> CalendarYear:
    """The effective public holidays, make-up working days and company days off of ``year``:
    the company's rows alone when it entered the year, else the library's days (names in
    ``lang``, default the active language) with the company's rows in their place. ``source``
    says which decides: "company", "library" or "estimate"."""
    from django.utils.translation import get_language

    lang = lang or ("en" if (get_language() or "zh").startswith("en") else "zh")
    country = FiscalSettings.current().country
    rows = {
        row.date: CalendarEntry(row.date, row.kind, row.name, "company")
        for row in CalendarDay.objects.filter(date__year=year)
    }
    if any(entry.kind == CalendarDay.Kind.HOLIDAY for entry in rows.values()):
        return CalendarYear(year, "company", sorted(rows.values(), key=lambda e: e.date))
    source = SOURCES.get(FiscalCalendar(country=country).workday_source(year), "estimate")
    days = {
        day: CalendarEntry(day, kind, name, source) for day, kind, name in library_days(year, country, lang)
    }
    days.update(rows)
    return CalendarYear(year, source, sorted(days.values(), key=lambda e: e.date))


def library_year(year: int, lang: str | None = None) -> list[tuple[dt.date, str, str]]:
    """The library's days of ``year`` (the starting point offered for the company's entry)."""
    from django.utils.translation import get_language

    lang = lang or ("en" if (get_language() or "zh").startswith("en") else "zh")
    return library_days(year, FiscalSettings.current().country, lang)


def company_currency() -> Currency:
    """The currency the company keeps its books in (FiscalSettings.currency; CNY by default)."""
    cache = _request_cache.get()
    if cache is not None and "currency" in cache:
        return get_currency(cache["currency"])
    code = _currency_code()
    if cache is not None:
        cache["currency"] = code
    return get_currency(code)


@remembered  # on every page (base.html); kept until a write
def _currency_code() -> str | None:
    return FiscalSettings.objects.filter(pk=1).values_list("currency", flat=True).first()


def start_request_cache(**kwargs) -> None:
    _request_cache.set({})


def end_request_cache(**kwargs) -> None:
    _request_cache.set(None)


def forget_company_settings(**kwargs) -> None:
    """After the settings are saved, the same request reads them again."""
    cache = _request_cache.get()
    if cache is not None:
        cache.clear()


def recent_changes(row, limit: int = 10) -> list[dict]:
    """The last ``limit`` saves of ``row`` (a metric or the company settings) from its history:
    who, when, and each changed field before and after, newest first."""
    records = list(
        row.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1]
    )
    changes = []
    for record, previous in zip(records, [*records[1:], None], strict=True):
        if previous is None:
            if len(records) > limit:
                break
            continue  # the first record: how the row began, nothing changed
        delta = record.diff_against(previous, excluded_fields=["version"])
        fields = [
            {
                "field": str(row._meta.get_field(c.field).verbose_name),
                "old": _shown(row, c.field, c.old),
                "new": _shown(row, c.field, c.new),
            }
            for c in delta.changes
        ]
        if fields:
            changes.append(
                {
                    "user": record.history_user,
                    "when": record.history_date,
                    "reason": record.history_change_reason or "",
                    "fields": fields,
                }
            )
    return changes


def _shown(row, name: str, value) -> str:
    field = row._meta.get_field(name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        from django.utils.translation import gettext

        return gettext("yes") if value else gettext("no")
    return str(value)


def currency_word() -> str:
    """The company currency's word in the user's language, for labels: 元/美元, yuan/USD."""
    from django.utils.translation import get_language

    return company_currency().unit(get_language() or "zh")


def _with_currency(message: str) -> str:
    from django.utils.translation import gettext

    return gettext(message) % {"currency": currency_word()}


# A label naming the company's currency, translated and filled in when shown:
# ``with_currency(gettext_noop("Amount (%(currency)s)"))`` -> "金额（美元）" / "Amount (USD)".
with_currency = lazy(_with_currency, str)


def estimated_note(user, start: dt.date, end: dt.date) -> dict | None:
    """For a page whose figures count working days in [start, end]: the years among them whose
    working days are estimated (the company has not entered their official days and the library
    does not know them), and the calendar page's link for those who may open it. None when every
    year is known."""
    cal = fiscal_calendar()
    years = [y for y in range(start.year, end.year + 1) if cal.is_estimated(y)]
    if not years:
        return None
    from django.urls import reverse
    from django.utils.translation import get_language

    from salestarget.metrics.services import may_edit_metrics

    url = f"{reverse('settings:calendar')}?year={years[0]}" if may_edit_metrics(user) else None
    joiner = ", " if (get_language() or "zh").startswith("en") else "、"
    return {"years": joiner.join(str(y) for y in years), "url": url}
