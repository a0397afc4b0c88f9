"""The company's fiscal calendar, as every page, endpoint and service computes with it."""

from __future__ import annotations

from contextvars import ContextVar

from django.utils.functional import lazy

from salestarget.core.money import Currency, get_currency
from salestarget.engine.calendar import FiscalCalendar
from salestarget.metrics.models import FiscalSettings

# The company's currency code, read once per request: a page formats hundreds of amounts.
# Outside a request (commands, jobs) there is no cache and each call reads the row, so a
# worker never keeps a currency that was changed since (metrics/apps.py sets and clears it).
_request_cache: ContextVar[dict | None] = ContextVar("company_currency", default=None)


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


def company_currency() -> Currency:
    """The currency the company keeps its books in (FiscalSettings.currency; CNY by default)."""
    cache = _request_cache.get()
    if cache is not None and "currency" in cache:
        return get_currency(cache["currency"])
    code = FiscalSettings.objects.filter(pk=1).values_list("currency", flat=True).first()
    if cache is not None:
        cache["currency"] = code
    return get_currency(code)


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
