"""Changes to the company settings and the metric definitions. The only code that writes them:
the settings pages, the API and the Django admin's repair aside, every change comes here.

Every action takes the acting user (None for the command line, which runs with full rights),
checks the permission (``PermissionDenied``), validates (``DomainError`` with a message for the
user), saves in one transaction and leaves a history record (django-simple-history: who, when,
the row before and after; :func:`salestarget.metrics.selectors.recent_changes` reads it).

Who may change what:

- the company settings (currency, fiscal year, week start, progress basis) change how every
  page, target period and recommendation of the company is computed: administrators only
  (``Action.CONFIGURE``); sales operations see them;
- the working calendar (public holidays, make-up working days, company days off) changes every
  working-day figure: administrators only, like the company settings;
- the metric definitions (names, unit, decimals, credit rule, direction, stage, order) are
  planning rules, which sales operations own: anyone who may *change* things company-wide
  (``scope.can_everywhere(Action.CHANGE)``), that is administrators and sales operations. A
  manager changes things only in their subtrees, and a metric is shared by the whole company,
  so a subtree reach is not enough.

Concurrent edits: each row has a ``version`` that goes up with every save. A caller that read
the row (a form, an API client) passes the version it read; when the row was saved since, the
change is refused with :class:`StaleEdit` instead of silently overwriting the other edit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from salestarget.core.errors import DomainError
from salestarget.metrics.models import CalendarDay, FiscalSettings, Metric
from salestarget.org.permissions import Action, scope_of

COMPANY_FIELDS = ("currency", "fy_start_month", "week_start", "progress_basis")
METRIC_FIELDS = (
    "name_zh",
    "name_en",
    "unit",
    "decimals",
    "credit_rule",
    "direction",
    "stage",
    "active",
    "sort_order",
)
# Money is stored in hundredths in every currency, so money metrics keep two decimals.
MONEY_AGGREGATIONS = (Metric.Aggregation.SUM_AMOUNT, Metric.Aggregation.SUM_PROFIT)


class StaleEdit(DomainError):
    """The row was saved by someone else after the caller read it (the API answers 409)."""


def may_configure_company(user) -> bool:
    return user is None or scope_of(user).can_everywhere(Action.CONFIGURE)


def may_edit_metrics(user) -> bool:
    """Administrators and sales operations: a company-wide ``change`` reach (see the module)."""
    return user is None or scope_of(user).can_everywhere(Action.CHANGE)


def _check_version(row, version: int | None) -> None:
    if version is not None and int(version) != row.version:
        raise StaleEdit(
            _(
                "Someone else saved these settings after you opened them (version %(yours)s, now "
                "%(current)s). Reload the page to see their change, then make yours again."
            ),
            yours=version,
            current=row.version,
        )


def _unknown(changes: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise DomainError(_("These fields cannot be changed here: %(fields)s."), fields=", ".join(unknown))


def _save(row, user, changes: dict[str, Any], reason: str) -> bool:
    """Apply ``changes``, validate and save with a history record. False when nothing changed."""
    changed = {name: value for name, value in changes.items() if getattr(row, name) != value}
    if not changed:
        return False
    if not row.history.exists():
        # A row made without a history record (bulk-created, seeded after the history began):
        # record how it was, so that this change has a "before".
        type(row).history.bulk_history_create([row])
    for name, value in changed.items():
        setattr(row, name, value)
    try:
        row.full_clean()
    except ValidationError as exc:
        problems = "; ".join(
            f"{row._meta.get_field(name).verbose_name}: {' '.join(messages)}"
            if name in {f.name for f in row._meta.fields}
            else " ".join(messages)
            for name, messages in exc.message_dict.items()
        )
        raise DomainError(_("The change is not valid: %(problems)s"), problems=problems) from exc
    row._change_reason = (reason or "")[:100] or None
    if user is not None:
        row._history_user = user
    row.save()
    return True


@transaction.atomic
def do_update_company_settings(
    user, *, version: int | None = None, reason: str = "", **changes: Any
) -> FiscalSettings:
    """Change the company settings (any of :data:`COMPANY_FIELDS`); administrators only.
    ``version``: the one the caller read (None: no check, for the command line)."""
    if not may_configure_company(user):
        raise PermissionDenied(gettext("Only administrators may change the company settings."))
    _unknown(changes, COMPANY_FIELDS)
    FiscalSettings.current()
    row = FiscalSettings.objects.select_for_update().get(pk=1)
    _check_version(row, version)
    if "currency" in changes and isinstance(changes["currency"], str):
        changes["currency"] = changes["currency"].upper()
    _save(row, user, changes, reason)
    return row


@transaction.atomic
def do_update_metric(
    user, metric: Metric, *, version: int | None = None, reason: str = "", **changes: Any
) -> Metric:
    """Change a metric's definition (any of :data:`METRIC_FIELDS`; code, aggregation and the
    fact kind are what the stored facts and targets mean, and stay as seeded); administrators
    and sales operations. A changed credit rule queues the refresh of stored recommendations,
    which read credited actuals."""
    if not may_edit_metrics(user):
        raise PermissionDenied(gettext("Only administrators and sales operations may change metrics."))
    _unknown(changes, METRIC_FIELDS)
    row = Metric.objects.select_for_update().get(pk=metric.pk)
    _check_version(row, version)
    if "decimals" in changes and changes["decimals"] != row.decimals:
        if row.aggregation in MONEY_AGGREGATIONS:
            raise DomainError(
                _(
                    "%(metric)s is an amount of money, stored in hundredths in every currency: its "
                    "decimals stay 2."
                ),
                metric=row.name,
            )
        from salestarget.targets.models import TargetCell

        if TargetCell.objects.filter(scenario__plan__metric=row).exists():
            raise DomainError(
                _(
                    "%(metric)s already has targets, stored × 10^%(decimals)s: changing its decimals "
                    "would change every one of them. Keep %(decimals)s decimals, or create a new metric."
                ),
                metric=row.name,
                decimals=row.decimals,
            )
    credit_before = row.credit_rule
    if _save(row, user, changes, reason) and row.credit_rule != credit_before:
        from salestarget.targets.tasks import queue_refresh  # targets depends on metrics

        queue_refresh()
    metric.refresh_from_db()
    return row


# --------------------------------------------------------------------------- working calendar

# Years a calendar may be entered for (the API's bounds too).
CALENDAR_YEARS = (2000, 2100)
# The kind of a day as people may write it: the codes, and the labels in both languages.
_KIND_WORDS = {
    "holiday": CalendarDay.Kind.HOLIDAY,
    "休息日": CalendarDay.Kind.HOLIDAY,
    "法定": CalendarDay.Kind.HOLIDAY,
    "休息日(法定)": CalendarDay.Kind.HOLIDAY,
    "休息日（法定）": CalendarDay.Kind.HOLIDAY,
    "法定节假日": CalendarDay.Kind.HOLIDAY,
    "节假日": CalendarDay.Kind.HOLIDAY,
    "public holiday": CalendarDay.Kind.HOLIDAY,
    "workday": CalendarDay.Kind.WORKDAY,
    "调休": CalendarDay.Kind.WORKDAY,
    "调休上班": CalendarDay.Kind.WORKDAY,
    "上班": CalendarDay.Kind.WORKDAY,
    "make-up working day": CalendarDay.Kind.WORKDAY,
    "company_off": CalendarDay.Kind.COMPANY_OFF,
    "公司休息日": CalendarDay.Kind.COMPANY_OFF,
    "公司休息": CalendarDay.Kind.COMPANY_OFF,
    "company day off": CalendarDay.Kind.COMPANY_OFF,
}
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
NAME_LENGTH = CalendarDay._meta.get_field("name").max_length


class CalendarProblems(DomainError):
    """The days given for a year, refused: ``problems`` has one sentence per wrong line."""

    def __init__(self, problems: list[str]):
        super().__init__(_("The calendar was not saved: %(problems)s"), problems=" ".join(problems))
        self.problems = problems


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = _DATE.fullmatch(str(value).strip())
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _as_kind(value) -> str | None:
    return _KIND_WORDS.get(str(value).strip().lower())


def check_calendar_year(year: int) -> None:
    low, high = CALENDAR_YEARS
    if not low <= int(year) <= high:
        raise DomainError(_("Choose a year from %(low)s to %(high)s."), low=low, high=high)


@transaction.atomic
def do_set_calendar_year(
    user, year: int, days: Sequence[tuple[Any, Any, Any]], *, lines: Sequence[int] | None = None
) -> list[CalendarDay]:
    """Make ``days`` — (date, kind, name) triples — the company's calendar of ``year``, in place
    of the rows it had (administrators only). A kind is ``holiday`` (a public holiday, day off),
    ``workday`` (a make-up working day, 调休上班) or ``company_off`` (the company's own day off),
    or their label in either language; a date is a date or its text (2027-01-01, 2027/1/1).
    Entering at least one holiday makes the year the company's: its official days replace the
    library's for every working-day figure; an empty list gives the year back to the library.

    Nothing is saved unless every day is right; :class:`CalendarProblems` names each wrong line
    (``lines``: where each day came from, the text's or file's line; default 1, 2, 3...)."""
    if not may_configure_company(user):
        raise PermissionDenied(gettext("Only administrators may change the working calendar."))
    year = int(year)
    check_calendar_year(year)
    lines = list(lines) if lines is not None else list(range(1, len(days) + 1))
    problems: list[str] = []
    wanted: dict[dt.date, tuple[str, str]] = {}
    first_line: dict[dt.date, int] = {}
    for line, (raw_date, raw_kind, raw_name) in zip(lines, days, strict=True):
        date, kind = _as_date(raw_date), _as_kind(raw_kind)
        name = str(raw_name or "").strip()
        if date is None:
            problems.append(
                gettext("Line %(line)s: “%(value)s” is not a date; write it as 2027-01-01.")
                % {"line": line, "value": raw_date}
            )
            continue
        if date.year != year:
            problems.append(
                gettext("Line %(line)s: %(date)s is not in %(year)s.")
                % {"line": line, "date": date.isoformat(), "year": year}
            )
        if kind is None:
            problems.append(
                gettext("Line %(line)s: unknown kind “%(kind)s”; write holiday, workday or company_off.")
                % {"line": line, "kind": raw_kind}
            )
        if len(name) > NAME_LENGTH:
            problems.append(
                gettext("Line %(line)s: the name is longer than %(max)s characters.")
                % {"line": line, "max": NAME_LENGTH}
            )
        if date in first_line:
            problems.append(
                gettext("Line %(line)s: %(date)s is already on line %(first)s.")
                % {"line": line, "date": date.isoformat(), "first": first_line[date]}
            )
        else:
            first_line[date] = line
        if kind is not None:
            wanted[date] = (kind, name)
    if problems:
        raise CalendarProblems(problems)

    existing = {row.date: row for row in CalendarDay.objects.select_for_update().filter(date__year=year)}
    for date, row in existing.items():
        if date not in wanted:
            if user is not None:
                row._history_user = user
            row.delete()
    for date, (kind, name) in sorted(wanted.items()):
        row = existing.get(date) or CalendarDay(date=date)
        if row.pk is not None and (row.kind, row.name) == (kind, name):
            continue
        row.kind, row.name = kind, name
        if user is not None:
            row._history_user = user
        row.save()
    from salestarget.metrics.selectors import forget_company_settings

    forget_company_settings()
    return list(CalendarDay.objects.filter(date__year=year))
