"""The tracking dashboard: where a target stands today, for the company, a manager's subtree or a
rep (the same page, phone first): KPI cards, the cumulative curve against the plan's, the children
ranked with their status and the lagging list. Thin: figures from ``tracking.progress``."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salestarget.actuals.summary import is_money, shown
from salestarget.core.errors import DomainError
from salestarget.core.memo import remembered
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import OrgUnit, Person
from salestarget.targets.labels import lang
from salestarget.targets.models import Plan
from salestarget.tracking import progress as tracking

# The tracking table's periods: whole periods, each with its plan-period-to-date columns beside it.
TABLE_KINDS = ("year", "half", "quarter", "month", "week")
WHOLE_PERIOD = {"ytd": "year", "qtd": "quarter", "mtd": "month", "wtd": "week"}  # the table of a to-date view
PERIODS = [
    ("month", gettext_lazy("This month")),
    ("mtd", gettext_lazy("Month to date")),
    ("week", gettext_lazy("This week")),
    ("wtd", gettext_lazy("Week to date")),
    ("quarter", gettext_lazy("This quarter")),
    ("qtd", gettext_lazy("Quarter to date")),
    ("half", gettext_lazy("This half")),
    ("year", gettext_lazy("This year")),
    ("ytd", gettext_lazy("Year to date")),
    ("day", gettext_lazy("The day")),
]
STATUS_LABELS = {
    "reached": gettext_lazy("Reached"),
    "ahead": gettext_lazy("Ahead"),
    "on_track": gettext_lazy("On track"),
    "lagging": gettext_lazy("Lagging"),
    "at_risk": gettext_lazy("At risk"),
    "not_started": gettext_lazy("Not started"),
    "no_target": gettext_lazy("No target"),
}
# The app's status colours (app.css) per status.
STATUS_CLASSES = {
    "reached": "status-ahead",
    "ahead": "status-ahead",
    "on_track": "status-on-track",
    "lagging": "status-behind",
    "at_risk": "status-at-risk",
}


def _date(text: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else default
    except ValueError:
        return default


def _id(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 19 else None


def _pickers(user, params) -> dict:
    """The pickers' context: the as-of date, the period kind, the published plans the user sees
    and the plan asked for (or the one in force)."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    as_of = _date(params.get("as_of"), yesterday)
    kind = params.get("period") or "month"
    if kind not in tracking.KINDS:
        kind = "month"
    plans = list(
        Plan.objects.restrict(user)
        .filter(status__in=[Plan.Status.PUBLISHED, Plan.Status.CLOSED])
        .select_related("metric")
        .order_by("-period_start", "metric__sort_order")
    )
    plan_id = _id(params.get("plan"))
    plan = next((p for p in plans if p.pk == plan_id), None) if plan_id else None
    if plan is None:
        sales = Metric.objects.filter(code="sales").first()
        found = tracking.in_force(sales, as_of) if sales else None
        current = [p for p in plans if p.period_start <= as_of <= p.period_end]
        plan = found if found in plans else (current or plans or [None])[0]
    return {"nav": "tracking", "plans": plans, "plan": plan, "periods": PERIODS, "kind": kind, "as_of": as_of}


@login_required
def leaderboard_page(request):
    """排行榜: the plan's reps ranked by achievement, as the plan shows it."""
    from salestarget.tracking.leaderboard import leaderboard

    context = _pickers(request.user, request.GET)
    as_of, kind, plan = context["as_of"], context["kind"], context["plan"]
    page = max(1, min(_id(request.GET.get("page")) or 1, 10**6))
    if plan is not None:

        def board_page(page: int) -> dict:
            offset = (page - 1) * BOARD_PAGE
            return leaderboard(request.user, plan, kind, as_of, chance=False, offset=offset, limit=BOARD_PAGE)

        try:
            board = board_page(page)
            pages = max(1, -(-board["count"] // BOARD_PAGE))
            if page > pages:  # past the end (an old link): the last page
                page = pages
                board = board_page(page)
        except (DomainError, PermissionDenied) as exc:
            context["error"] = str(exc) or _("This plan's leaderboard is shown to managers only.")
        else:
            language = lang()
            for row in board["rows"]:
                f = row["figures"]
                row.update(_status(f))
                if row["amounts"]:
                    row["actual"] = shown(f["actual"], plan.metric, language)
                    row["target"] = shown(f["target"], plan.metric, language)
            mine = board["mine"]
            context.update(
                {
                    "rows": board["rows"],
                    "period_label": board["period"].label(language),
                    "everyone": board["everyone"],
                    "count": board["count"],
                    "page": page,
                    "pages": pages,
                    "first": (page - 1) * BOARD_PAGE + 1,
                    "last": (page - 1) * BOARD_PAGE + len(board["rows"]),
                    # The reader's own place, when the page shown does not hold it.
                    "mine": (
                        {"rank": mine["rank"], "page": mine["position"] // BOARD_PAGE + 1}
                        if mine and mine["position"] // BOARD_PAGE + 1 != page
                        else None
                    ),
                    "query": urlencode({"plan": plan.pk, "period": kind, "as_of": as_of.isoformat()}),
                }
            )
    return render(request, "tracking/leaderboard.html", context)


# Rows on a page of the leaderboard: a company of 5,000 reps was one page of 3 MB.
BOARD_PAGE = 100


@login_required
def wallboard(request):
    """数据看板: the office TV's full-screen view of a unit — its figures, its children's
    achievement and (when the plan shows it) the top of the leaderboard — refreshed every few
    minutes. Scoped like the dashboard: the TV signs in as a viewer of what it shows."""
    from salestarget.tracking.leaderboard import leaderboard, may_see

    picked = _pickers(request.user, request.GET)
    as_of, kind, plan = picked["as_of"], picked["kind"], picked["plan"]
    if plan is None:
        raise Http404
    node = _node(request.user, request.GET, as_of)
    if node is None:
        raise PermissionDenied
    language = lang()
    try:
        data = tracking.progress(request.user, plan, node, kind, as_of)
    except DomainError as exc:
        return render(request, "tracking/wallboard.html", {"error": str(exc), "plan": plan}, status=400)
    metric = plan.metric
    period, _to_date = tracking.resolve_period(kind, as_of)
    children = sorted(data["children"], key=lambda c: -(c["figures"]["achievement"] or 0))
    top = []
    if may_see(request.user, plan):
        top = [
            r
            for r in leaderboard(
                request.user, plan, kind, as_of, chance=False, limit=10, within=node.unit and node.unit.path
            )["rows"]
            if r["rank"] is not None
        ]
        for row in top:
            row.update(_status(row["figures"]))
    context = {
        "plan": plan,
        "node": node,
        **_headline(data["figures"], metric, language),
        "period_label": period.label(language),
        "as_of": as_of,
        "chart": _bars(children),
        "has_children": bool(children),
        "top": top,
        "refresh": 300,
    }
    return render(request, "tracking/wallboard.html", context)


def _headline(f: dict, metric: Metric, language: str) -> dict:
    """A node's figures with the amounts a card shows, as the user reads them, and its status."""
    return {
        "figures": f,
        "shown": {k: shown(f[k], metric, language) for k in ("actual", "target", "required_per_day")},
        **_status(f),
    }


def _status(f: dict) -> dict:
    """A status's label and colour (app.css's class), as every tracking screen shows it."""
    return {"status_label": STATUS_LABELS[f["status"]], "status_class": STATUS_CLASSES.get(f["status"], "")}


def my_target_cards(user, as_of: dt.date) -> dict:
    """The home page's "this month" cards: the user's own node in every plan in force."""
    found = tracking.my_targets(user, as_of)
    language = lang()
    return {
        "as_of": as_of,
        "period_label": tracking.resolve_period("month", as_of)[0].label(language),
        "cards": [
            {"plan": plan, **_headline(data["figures"], plan.metric, language)} for plan, data in found
        ],
    }


def _heat(regions: dict | None, metric: Metric) -> dict | None:
    """Actuals by top-level region x month as an ECharts heat map."""
    if not regions or not regions["cells"]:
        return None
    money = "cny" if is_money(metric) else None
    top = max(v for _x, _y, v in regions["cells"])
    return {
        "tooltip": {"position": "top", **({"valueFormatter": money} if money else {})},
        "grid": {"left": 8, "right": 8, "top": 8, "bottom": 64, "containLabel": True},
        "xAxis": {"type": "category", "data": regions["months"], "splitArea": {"show": True}},
        "yAxis": {"type": "category", "data": regions["names"], "splitArea": {"show": True}},
        "visualMap": {
            "min": 0, "max": top, "calculable": True, "orient": "horizontal", "left": "center", "bottom": 0,
            **({"formatter": money} if money else {}),
        },
        "series": [{"name": str(metric.name), "type": "heatmap", "data": regions["cells"]}],
    }  # fmt: skip


def _lines(products: list[dict] | None, metric: Metric) -> dict | None:
    """Actual (and target, when the plan is by product line) per product line."""
    if not products:
        return None
    money = "cny" if is_money(metric) else None
    series = [
        {"name": _("Actual"), "type": "bar", "data": [p["actual"] for p in products], "barMaxWidth": 32}
    ]
    if any(p["target"] is not None for p in products):
        series.append(
            {"name": _("Target"), "type": "bar", "data": [p["target"] for p in products], "barMaxWidth": 32}
        )
    return {
        "tooltip": {"trigger": "axis", **({"valueFormatter": money} if money else {})},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 8, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [p["name"] for p in products]},
        "yAxis": {"type": "value", **({"axisLabel": {"formatter": money}} if money else {})},
        "series": series,
    }


def _bars(children: list[dict]) -> dict:
    """The children's achievement as horizontal bars in their status colours, lettered to be read
    across the office from the TV; on a phone (under 600 px) in smaller letters and with fewer
    ticks, which ran into each other ("0% 5% 10%15%20%")."""
    colours = {  # app.css's --st-ahead, --st-on-track, --st-behind, --st-at-risk
        "reached": "#198754",
        "ahead": "#198754",
        "on_track": "#0d6efd",
        "lagging": "#f59f00",
        "at_risk": "#dc3545",
    }
    rows = list(reversed(children))
    tv = {
        "grid": {"left": 8, "right": 72, "top": 8, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "value",
            "axisLabel": {"formatter": "{value}%", "color": "#adb5bd", "fontSize": 14},
            "splitLine": {"lineStyle": {"color": "#343a40"}},
        },
        "yAxis": {
            "type": "category",
            "data": [c["node"]["name"] for c in rows],
            "axisLabel": {"color": "#f8f9fa", "fontSize": 20},
        },
        "series": [
            {
                "type": "bar",
                "barMaxWidth": 48,
                "data": [
                    {
                        "value": round((c["figures"]["achievement"] or 0) * 100, 1),
                        "itemStyle": {"color": colours.get(c["figures"]["status"], "#6c757d")},
                    }
                    for c in rows
                ],
                "label": {
                    "show": True,
                    "position": "right",
                    "formatter": "{c}%",
                    "color": "#f8f9fa",
                    "fontSize": 18,
                },
            }
        ],
    }
    phone = {
        "grid": {"right": 56},
        "xAxis": {"splitNumber": 3, "axisLabel": {"fontSize": 12}},
        "yAxis": {"axisLabel": {"fontSize": 15}},
        "series": [{"label": {"fontSize": 14}}],
    }
    return {"baseOption": tv, "media": [{"query": {"maxWidth": 600}, "option": phone}]}  # fmt: skip


@login_required
def dashboard(request):
    """The page around its content, which is remembered until a write (dashboard_body)."""
    query = tuple(sorted((k, v) for k, values in request.GET.lists() for v in values))
    body = mark_safe(dashboard_body(request.user, query))  # noqa: S308 - rendered by our template
    return render(request, "tracking/dashboard.html", {"nav": "tracking", "body": body})


@remembered
def dashboard_body(user, query: tuple[tuple[str, str], ...]) -> str:
    """The dashboard's content for the query asked: the same for a user until a write changes a
    figure, so a page read again (every morning, by every manager) costs its frame alone."""
    params = QueryDict(urlencode(query))
    context = _pickers(user, params)
    as_of, kind, plan = context["as_of"], context["kind"], context["plan"]
    if plan is None:
        return render_to_string("tracking/_dashboard.html", context)
    node = _node(user, params, as_of)
    if node is None:
        raise PermissionDenied
    language = lang()
    try:
        part = _slice(params)
        data = tracking.progress(user, plan, node, kind, as_of, part=part)
        period, _to_date = tracking.resolve_period(kind, as_of)
        line = tracking.curve(user, plan, node, period, as_of, part=part)
        parts = tracking.breakdown(user, plan, node, period, as_of, part=part)
    except DomainError as exc:
        context["error"] = str(exc)
        return render_to_string("tracking/_dashboard.html", context)
    metric = plan.metric

    def show(value):
        return shown(value, metric, language)

    def decorate(figures: dict) -> dict:
        return {
            **figures,
            "shown": {
                k: show(figures[k])
                for k in (
                    "actual",
                    "target",
                    "floor",
                    "stretch",
                    "gap",
                    "expected_to_date",
                    "run_rate",
                    "seasonal",
                    "projection",
                    "prior",
                    "required_per_day",
                    "last_year",
                    "previous",
                )
            }  # fmt: skip
            | {"over": show(-figures["gap"]) if figures["gap"] is not None and figures["gap"] < 0 else None},
            **_status(figures),
        }

    from salestarget.tracking.leaderboard import may_see, places, rank_of

    may_rank = may_see(user, plan)
    my_rank = rank_of(user, plan, kind, as_of, node.id) if may_rank and node.kind == "person" else None
    children = [{**c, "figures": decorate(c["figures"])} for c in data["children"]]
    children.sort(key=lambda c: (c["figures"]["achievement"] is None, -(c["figures"]["achievement"] or 0)))
    for child, rank in zip(children, places([c["figures"]["achievement"] for c in children]), strict=True):
        child["rank"] = rank  # as the leaderboard ranks: ties share a place, no target no place
    context.update(
        {
            "node": node,
            "data": data,
            "figures": decorate(data["figures"]),
            "children": children,
            "lagging": [c for c in children if c["figures"]["status"] in ("lagging", "at_risk")],
            "period": period,
            "period_label": period.label(language),
            "units": _units(user),
            "chart": _chart(line, metric),
            "heat": _heat(parts["regions"], metric),
            "lines": _lines(parts["products"], metric),
            "estimated": fiscal_calendar().is_estimated(period.start.year),
            "rank": my_rank,
            "may_rank": may_rank,
            "part": part,
            **_lines_and_regions(),
        }
    )
    return render_to_string("tracking/_dashboard.html", context)


@login_required
def table(request):
    """The tracking table for the units and people the user follows: a printable page, or the
    same rows as xlsx or CSV (``?format=``)."""
    from django.http import HttpResponse

    from salestarget.tracking.table import as_csv, as_xlsx, tracking_table

    picked = _pickers(request.user, request.GET)
    as_of, plan = picked["as_of"], picked["plan"]
    kind = WHOLE_PERIOD.get(picked["kind"], picked["kind"])
    kind = kind if kind in TABLE_KINDS else "month"
    asked = _id(request.GET.get("plan"))
    if asked is not None and (plan is None or plan.pk != asked):
        # An export names its plan: another plan's rows under that name would be worse than none.
        raise Http404
    if plan is None:
        return render(request, "tracking/table.html", {"nav": "tracking", "plan": None})
    language = lang()
    try:
        found = tracking_table(request.user, plan, kind, as_of)
    except DomainError as exc:
        return render(
            request, "tracking/table.html", {"nav": "tracking", "plan": plan, "error": str(exc)}, status=400
        )
    name = f"{plan.name}-{found.period.label(language)}-{as_of.isoformat()}"
    wanted = request.GET.get("format")
    if wanted in ("xlsx", "csv"):
        body = (
            as_xlsx(found, language, STATUS_LABELS)
            if wanted == "xlsx"
            else as_csv(found, language, STATUS_LABELS)
        )
        kinds = {
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "csv": "text/csv; charset=utf-8",
        }
        response = HttpResponse(body, content_type=kinds[wanted])
        from urllib.parse import quote

        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}.{wanted}"
        return response
    metric = plan.metric
    rows = [
        {
            "row": r,
            "indent": r.depth * 1.25,
            "period": {k: shown(r.period[k], metric, language) for k in ("target", "actual", "gap")},
            "to_date": {k: shown(r.to_date[k], metric, language) for k in ("target", "actual", "gap")},
            **_status(r.period),
            "so_far": _status(r.to_date),
        }
        for r in found.rows
    ]
    context = {
        "nav": "tracking",
        "plan": plan,
        "table": found,
        "rows": rows,
        "kind": kind,
        "as_of": as_of,
        "period_label": found.period.label(language),
        "plan_label": found.plan_period.label(language),
        "periods": [(v, label) for v, label in PERIODS if v in TABLE_KINDS],
    }
    return render(request, "tracking/table.html", context)


def _slice(params) -> tracking.Slice:
    """The product line and sales region picked (top-level ones), if any."""
    from salestarget.catalog.models import Product, Region

    product, region = _id(params.get("product")), _id(params.get("region"))
    return tracking.Slice(
        product=Product.objects.filter(pk=product).first() if product else None,
        region=Region.objects.filter(pk=region).first() if region else None,
    )


def _lines_and_regions() -> dict:
    """The pickers' top-level product lines and sales regions."""
    from salestarget.catalog.models import Product, Region

    def heads(model):
        return sorted(
            {pk: name for pk, name in tracking.top_level(model).values()}.items(), key=lambda x: x[1]
        )

    return {"product_lines": heads(Product), "sales_regions": heads(Region)}


def _node(user, params, as_of: dt.date) -> tracking.Node | None:
    unit_id, person_id = _id(params.get("unit")), _id(params.get("person"))
    if person_id is not None:
        return tracking.person_node(get_object_or_404(Person.objects.restrict(user), pk=person_id))
    if unit_id is not None:
        return tracking.unit_node(get_object_or_404(OrgUnit.objects.restrict(user), pk=unit_id))
    return tracking.default_node(user, as_of)


def _units(user) -> list[tuple[int, str]]:
    """The units whose progress the user may follow, for the picker."""
    from salestarget.org.permissions import Action, scope_of

    reach = scope_of(user).reach(Action.VIEW)
    units = OrgUnit.objects.order_by("path")
    if not reach.everything:
        units = units.filter(reach.units_q("")) if reach.paths else units.none()
    return [(u.pk, "　" * u.depth + u.name) for u in units[:500]]


def _chart(line: dict, metric: Metric) -> dict:
    """The cumulative curve. A day's curve is one point, which a line without symbols does not
    draw: there each series shows its point (QA: the day view's chart was empty axes)."""
    money = "cny" if is_money(metric) else None
    one = len(line["labels"]) == 1
    return {
        "tooltip": {"trigger": "axis", **({"valueFormatter": money} if money else {})},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [label[5:] for label in line["labels"]], "boundaryGap": one},
        "yAxis": {"type": "value", **({"axisLabel": {"formatter": money}} if money else {})},
        "series": [
            {
                "name": _("Actual (cumulative)"),
                "type": "line",
                "data": line["actual"],
                "areaStyle": {"opacity": 0.15},
                "showSymbol": one,
                "symbolSize": 12,
            },
            {
                "name": _("Expected by the plan"),
                "type": "line",
                "data": line["expected"],
                "lineStyle": {"type": "dashed"},
                "showSymbol": one,
                "symbolSize": 12,
            },
        ],  # fmt: skip
    }
