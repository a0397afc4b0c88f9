"""Actuals by person or unit and month, credited by the metric's rule: the page, the API
endpoint and the xlsx export show this one computation.

Values are in the metric's minor units (``Metric.decimals``: fen for money). A row's total over
the range is the sum of its months, except for a ratio, which is the range's numerator over its
denominator. The scope's total counts each credited row once (under territory credit a sale
held by two people is one sale), so it is not always the sum of the rows above it; for the
whole company it is every sale, credited or not (see :mod:`salestarget.actuals.credit`).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salestarget.actuals import credit
from salestarget.core.errors import DomainError
from salestarget.core.money import format_amount
from salestarget.engine.calendar import add_months
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import company_currency
from salestarget.org.models import OrgUnit, Person
from salestarget.org.permissions import Action, scope_of

MAX_MONTHS = 120
BY = ("person", "unit")


@dataclass
class SummaryRow:
    id: int
    code: str
    name: str
    depth: int
    values: list[int | None]
    total: int | None


@dataclass
class Summary:
    metric: Metric
    by: str
    start: dt.date
    end: dt.date
    months: list[dt.date]
    rows: list[SummaryRow] = field(default_factory=list)
    total: SummaryRow | None = None

    def month_labels(self, lang: str) -> list[str]:
        return [f"{m.year}-{m.month:02d}" if lang == "en" else f"{m.year}年{m.month}月" for m in self.months]


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    first, last = start.replace(day=1), end.replace(day=1)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return [add_months(first, i) for i in range(count)]


def check_range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise DomainError(gettext_lazy("The end date lies before the start date."))
    if len(months_between(start, end)) > MAX_MONTHS:
        raise DomainError(gettext_lazy("Choose at most %(n)d months."), n=MAX_MONTHS)


def actuals_summary(user, metric: Metric, start: dt.date, end: dt.date, by: str = "person") -> Summary:
    """The summary ``user`` may see: people credited in the range, or the units they may see."""
    if by not in BY:
        raise DomainError(gettext_lazy("Group by person or by unit."))
    check_range(start, end)
    months = months_between(start, end)
    summary = Summary(metric=metric, by=by, start=start, end=end, months=months)
    if by == "person":
        cells = _cells(metric, start, end, lambda m, s, e: credit.by_person_month(m, s, e, user))
        ids = {pid for pid, _m in cells[0]}
        people = Person.objects.filter(pk__in=ids).order_by("code").values_list("pk", "code", "name")
        keyed = [(pid, code, name, 0) for pid, code, name in people]
    else:
        units = list(_visible_units(user))
        cells = _cells(metric, start, end, lambda m, s, e: credit.by_unit_month(m, s, e, units, user))
        top = min((u.depth for u in units), default=0)
        keyed = [(u.pk, u.code, u.name, u.depth - top) for u in units]
    for key, code, name, depth in keyed:
        summary.rows.append(SummaryRow(key, code, name, depth, *_row(metric, cells, key, months)))
    if not summary.rows:
        # A total under no rows reads as a figure of nothing (QA: a rep asking by unit, who sees
        # no unit, got rows [] and their own total).
        return summary
    totals = _cells(metric, start, end, lambda m, s, e: _scope_totals(m, s, e, user))
    summary.total = SummaryRow(0, "", _("Total"), 0, *_row(metric, totals, None, months))
    return summary


def _visible_units(user):
    reach = scope_of(user).reach(Action.VIEW)
    if reach.everything:
        return OrgUnit.objects.order_by("path")
    return (
        OrgUnit.objects.filter(reach.units_q("")).order_by("path") if reach.paths else OrgUnit.objects.none()
    )


def _cells(metric: Metric, start, end, read) -> tuple[dict, dict | None]:
    """(values by (key, month), and for a ratio the (numerator, denominator) parts by key)."""
    if metric.aggregation == Metric.Aggregation.RATIO:
        num, _n = _cells(metric.numerator, start, end, read)
        den, _d = _cells(metric.denominator, start, end, read)
        return credit.ratios(metric, num, den), {"num": num, "den": den}
    return read(metric, start, end), None


def _row(metric: Metric, cells, key, months) -> tuple[list[int | None], int | None]:
    values, parts = cells
    row = [values.get((key, m)) for m in months]
    if parts is None:
        return row, sum(v for v in row if v is not None)
    num = {None: sum(v for (k, _m), v in parts["num"].items() if k == key)}
    den = {None: sum(v for (k, _m), v in parts["den"].items() if k == key)}
    return row, credit.ratios(metric, num, den).get(None)


def _scope_totals(metric: Metric, start, end, user) -> dict[tuple[None, dt.date], int]:
    """{(None, month): the scope's credited total}, each credited row once."""
    if metric.aggregation == Metric.Aggregation.NEW_CUSTOMERS:
        seen: dict[dt.date, set] = {}
        for (_pid, month), customers in credit.new_customers(metric, start, end, user).items():
            seen.setdefault(month, set()).update(customers)
        return {(None, m): len(ids) * 10**metric.decimals for m, ids in seen.items()}
    column, money = credit.COLUMNS[metric.aggregation]
    rows = credit.total_rows(user, metric, since=start, until=end)
    sums = rows.annotate(m=TruncMonth("day")).values("m").annotate(v=Sum(column))
    return {
        (None, credit.month_of(r["m"])): credit.to_units(int(r["v"] or 0), money, metric.decimals)
        for r in sums
    }


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """This fiscal year up to yesterday (today's figures are still coming in)."""
    from salestarget.metrics.selectors import fiscal_calendar

    as_of = today - dt.timedelta(days=1)
    return fiscal_calendar().period_of("year", as_of).start, as_of


def is_money(metric: Metric) -> bool:
    return metric.aggregation in (Metric.Aggregation.SUM_AMOUNT, Metric.Aggregation.SUM_PROFIT) or (
        metric.aggregation == Metric.Aggregation.RATIO and is_money(metric.numerator)
    )


def unit_label(metric: Metric, lang: str) -> str:
    """The unit a reader sees: the company's currency for money (美元, USD), else the metric's."""
    return company_currency().unit(lang) if is_money(metric) else metric.unit


def shown(value: int | None, metric: Metric, lang: str) -> str:
    """A cell as a reader wants it: money in 万/亿 (K/M/B in English) in the company's currency,
    counts whole, ratios with their unit."""
    if value is None:
        return "—"
    if is_money(metric):
        return format_amount(value, metric.decimals, lang, currency=company_currency())
    exact = as_decimal(value, metric)
    places = 1 if metric.unit.strip() == "%" else metric.decimals
    text = f"{exact:,.{places}f}"
    return text + "%" if metric.unit.strip() == "%" else text


@dataclass(frozen=True)
class TableUnit:
    """The one unit every money cell of a summary table is shown in, named by the note above it:
    万 of the currency with two decimals in Chinese (万元, 万美元), thousands with one in English
    (thousand yuan, thousand USD), so the cells line up, compare at a glance and stay narrow;
    other metrics keep their own unit (customers, %)."""

    label: str
    scale: int = 1
    places: int = 0
    money: bool = False


def table_unit(metric: Metric, lang: str) -> TableUnit:
    if not is_money(metric):
        return TableUnit(label=metric.unit)
    currency = company_currency()
    if lang == "en":
        label = _("thousand %(currency)s") % {"currency": currency.unit("en")}
        return TableUnit(label=label, scale=1_000, places=1, money=True)
    # Chinese counts in 万 (as core.money does), whatever the currency: 万元, 万美元.
    return TableUnit(label=f"万{currency.unit('zh')}", scale=10_000, places=2, money=True)


def shown_in(value: int | None, metric: Metric, unit: TableUnit, lang: str) -> str:
    """A cell in the table's unit: 1,234.57 under 单位：万元 (no 万/亿 or symbol of its own)."""
    if value is None or not unit.money:
        return shown(value, metric, lang)
    amount = Decimal(value).scaleb(-metric.decimals) / unit.scale
    rounded = amount.quantize(Decimal(1).scaleb(-unit.places), rounding=ROUND_HALF_UP)
    return f"{rounded if rounded else abs(rounded):,.{unit.places}f}"  # never "-0.00"


def as_decimal(value: int | None, metric: Metric) -> Decimal | None:
    """A value in the metric's own unit (yuan, customers, %), exactly."""
    return None if value is None else Decimal(value).scaleb(-metric.decimals)


def xlsx(summary: Summary, lang: str) -> bytes:
    """The summary as a workbook: exact values in the metric's unit, names written as text (never
    formulas, whatever a name starts with)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(_("Actuals"))
    bold = book.add_format({"bold": True})
    places = summary.metric.decimals
    number = book.add_format({"num_format": "#,##0" + ("." + "0" * places if places else "")})
    unit = unit_label(summary.metric, lang)
    title = f"{summary.metric.name} ({unit}) {summary.start.isoformat()} – {summary.end.isoformat()}"
    sheet.write_string(0, 0, title, bold)
    header = [_("Code"), _("Person") if summary.by == "person" else _("Unit")]
    header += summary.month_labels(lang) + [_("Total")]
    for col, text in enumerate(header):
        sheet.write_string(2, col, text, bold)
    rows = [*summary.rows, summary.total] if summary.total else summary.rows
    for r, row in enumerate(rows, start=3):
        sheet.write_string(r, 0, row.code)
        sheet.write_string(r, 1, ("  " * row.depth) + row.name)
        for c, value in enumerate([*row.values, row.total], start=2):
            if value is not None:
                sheet.write_number(r, c, float(as_decimal(value, summary.metric)), number)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 20)
    sheet.set_column(2, len(header), 14)
    sheet.freeze_panes(3, 2)
    book.close()
    return out.getvalue()
