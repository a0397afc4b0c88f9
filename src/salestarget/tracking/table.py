"""The tracking table (销售目标跟踪表) in the layout sales operations keep by hand: one row per unit
(its whole subtree: the subtotal of the rows under it) and per member of it, for the period and
for the plan's period to date — target, actual, achievement, gap, status — with the period's
time progress; as xlsx (frozen panes, conditional colours: below the lagging line red, above the ahead
line green), as CSV, and as a printable page. Figures from ``tracking.progress.figures_for``:
six reads of actuals and two of targets for the whole table."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _

from salestarget.actuals.parsing import spreadsheet_safe
from salestarget.actuals.summary import as_decimal, unit_label
from salestarget.core.memo import remembered
from salestarget.engine.calendar import Period
from salestarget.org.models import Membership, OrgUnit, active_on
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.models import Plan
from salestarget.tracking import progress as tracking


@dataclass
class Row:
    node: tracking.Node
    depth: int
    period: dict
    to_date: dict


@dataclass
class Table:
    plan: Plan
    period: Period
    plan_period: Period
    as_of: dt.date
    rows: list[Row]


def nodes_of(user, on: dt.date) -> tuple[list[tuple[tracking.Node, int]], object]:
    """The units the user reaches in tree order, each followed by its members on ``on``; and
    those members as a subquery of person ids (the figures' ``among``)."""
    reach = scope_of(user).reach(Action.VIEW)
    units = list(OrgUnit.objects.filter(reach.units_q("")).order_by("path")) if not reach.nothing else []
    if not reach.everything and not reach.paths:
        units = []
    members: dict[int, list] = {}
    memberships = Membership.objects.filter(active_on(on), unit__in=units, role=Membership.Role.MEMBER)
    for m in memberships.select_related("person").order_by("person__code"):
        members.setdefault(m.unit_id, []).append(m.person)
    out = []
    top = min((u.depth for u in units), default=0)
    for unit in units:
        out.append((tracking.unit_node(unit), unit.depth - top))
        out += [(tracking.person_node(p), unit.depth - top + 1) for p in members.get(unit.pk, [])]
    if not units and reach.person_id:
        node = tracking.default_node(user, on)
        return ([(node, 0)] if node else []), None
    return out, memberships.values("person_id")


@remembered
def tracking_table(user, plan: Plan, kind: str, as_of: dt.date) -> Table:
    from salestarget.targets.services import plan_period

    period, _to_date = tracking.resolve_period(
        kind if kind not in tracking.TO_DATE else tracking.TO_DATE[kind], as_of
    )
    whole = plan_period(plan)
    on = min(as_of, period.end)
    listed, among = nodes_of(user, on)
    nodes = [n for n, _d in listed]
    now = tracking.figures_for(user, plan, nodes, period, as_of, chance=False, among=among)
    so_far = tracking.figures_for(user, plan, nodes, whole, as_of, to_date=True, among=among)
    rows = [Row(n, depth, now[n.key], so_far[n.key]) for n, depth in listed]
    return Table(plan, period, whole, as_of, rows)


def headers(table: Table, lang: str) -> list[str]:
    unit = unit_label(table.plan.metric, lang)
    now, so_far = (
        table.period.label(lang),
        _("%(period)s to date") % {"period": table.plan_period.label(lang)},
    )
    target, actual, achieved, gap = _("Target"), _("Actual"), _("Achieved"), _("Gap")
    line = table.plan.incentive_line_pct
    reached = (
        [_("%(period)s incentive line (%(line)s%%) reached") % {"period": now, "line": line}] if line else []
    )
    return [
        _("Code"),
        _("Unit or person"),
        f"{now} {target} ({unit})",
        f"{now} {actual} ({unit})",
        f"{now} {achieved}",
        f"{now} {gap} ({unit})",
        _("Time progress"),
        _("Status"),
        f"{so_far} {target} ({unit})",
        f"{so_far} {actual} ({unit})",
        f"{so_far} {achieved}",
        f"{so_far} {gap} ({unit})",
        f"{so_far} {_('Status')}",
        *reached,
    ]


def _values(table: Table, row: Row) -> list:
    """A row's cells after its code and name; the last says whether the period's achievement is at
    or above the plan's incentive line (激励线), where the plan has one."""
    p, y = row.period, row.to_date
    reached = [_("Yes") if p["incentive"] else ""] if table.plan.incentive_line_pct else []
    return [
        p["target"],
        p["actual"],
        p["achievement"],
        p["gap"],
        p["time_progress"],
        p["status"],
        y["target"],
        y["actual"],
        y["achievement"],
        y["gap"],
        y["status"],
        *reached,
    ]


MONEY_COLUMNS = (2, 3, 5, 8, 9, 11)
RATIO_COLUMNS = (4, 6, 10)
STATUS_COLUMNS = (7, 12)


def as_csv(table: Table, lang: str, status_labels: dict) -> bytes:
    """UTF-8 with a BOM (Excel opens it in Chinese), exact values in the metric's unit."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(headers(table, lang))
    metric = table.plan.metric
    for row in table.rows:
        cells = [
            spreadsheet_safe(row.node.code),
            "  " * row.depth + spreadsheet_safe(row.node.name),
            *_values(table, row),
        ]
        line = []
        for col, value in enumerate(cells):
            if value is None:
                line.append("")
            elif col in MONEY_COLUMNS:
                line.append(str(as_decimal(value, metric)))
            elif col in RATIO_COLUMNS:
                line.append(f"{value * 100:.1f}%")
            elif col in STATUS_COLUMNS:
                line.append(str(status_labels[value]))
            else:
                line.append(value)
        writer.writerow(line)
    return out.getvalue().encode("utf-8")


def as_xlsx(table: Table, lang: str, status_labels: dict) -> bytes:
    import xlsxwriter

    plan, metric = table.plan, table.plan.metric
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(_("Tracking"))
    bold = book.add_format(
        {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E9EEF6", "border": 1}
    )
    places = metric.decimals
    number = book.add_format({"num_format": "#,##0" + ("." + "0" * places if places else "")})
    number_bold = book.add_format(
        {"num_format": "#,##0" + ("." + "0" * places if places else ""), "bold": True}
    )
    percent = book.add_format({"num_format": "0.0%"})
    red = book.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
    green = book.add_format({"font_color": "#006100", "bg_color": "#C6EFCE"})
    title = _("%(plan)s · %(period)s · up to %(day)s") % {
        "plan": plan.name,
        "period": table.period.label(lang),
        "day": table.as_of.isoformat(),
    }
    sheet.write_string(0, 0, title, book.add_format({"bold": True, "font_size": 13}))
    for col, text in enumerate(headers(table, lang)):
        sheet.write_string(2, col, text, bold)
    first = 3
    for r, row in enumerate(table.rows, start=first):
        unit_row = row.node.kind == "unit"
        sheet.write_string(r, 0, row.node.code)
        sheet.write_string(
            r, 1, "  " * row.depth + row.node.name, book.add_format({"bold": unit_row}) if unit_row else None
        )
        for col, value in enumerate(_values(table, row), start=2):
            if value is None:
                continue
            if col in MONEY_COLUMNS:
                sheet.write_number(
                    r, col, float(as_decimal(value, metric)), number_bold if unit_row else number
                )
            elif col in RATIO_COLUMNS:
                sheet.write_number(r, col, value, percent)
            elif col in STATUS_COLUMNS:
                sheet.write_string(r, col, str(status_labels[value]))
            else:
                sheet.write_string(r, col, value)
    last = first + len(table.rows) - 1
    if table.rows:
        low, high = plan.lagging_below_pct / 100, plan.ahead_above_pct / 100
        for col in (4, 10):
            sheet.conditional_format(
                first, col, last, col, {"type": "cell", "criteria": "<", "value": low, "format": red}
            )
            sheet.conditional_format(
                first, col, last, col, {"type": "cell", "criteria": ">", "value": high, "format": green}
            )
    sheet.set_row(2, 45)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 22)
    sheet.set_column(2, len(headers(table, lang)) - 1, 14)
    sheet.freeze_panes(first, 2)
    book.close()
    return out.getvalue()
