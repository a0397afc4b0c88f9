"""A plan's scenarios (方案模拟): the list with its writes, and the side-by-side comparison with
its charts. Thin: writes through ``targets.scenarios``, figures from ``scenarios.compare``.

The list takes every write as a POST to its own URL with an ``action`` field, so that the page
is one address to scope and link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from salestarget.actuals.summary import is_money, shown
from salestarget.core.errors import DomainError
from salestarget.org.models import OrgUnit
from salestarget.targets import scenarios as service
from salestarget.targets.labels import lang, month_label
from salestarget.targets.models import Plan, Scenario, TargetCell
from salestarget.targets.services import may_plan

ACTIONS = ("create", "copy", "rename", "delete", "promote")


def _plan(request, pk: int) -> Plan:
    return get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)


@login_required
def scenarios(request, pk: int):
    plan = _plan(request, pk)
    planner = may_plan(request.user)
    if request.method == "POST":
        if not planner:
            raise PermissionDenied
        _write(request, plan)
        return redirect("targets:scenarios", pk=plan.pk)
    rows = list(plan.scenarios.all())
    totals = dict(
        TargetCell.objects.restrict(request.user)
        .filter(plan.total_cell, scenario__in=rows)
        .values_list("scenario_id", "target")
    )
    language = lang()
    for row in rows:
        row.total = shown(totals.get(row.pk), plan.metric, language)
    context = {
        "plan": plan,
        "scenarios": rows,
        "can_write": planner,
        "can_promote": planner and plan.status == Plan.Status.DRAFT,
        "can_add": planner and len(rows) < service.MAX_SCENARIOS,
        "max_scenarios": service.MAX_SCENARIOS,
        "nav": "targets",
    }
    return render(request, "targets/scenarios.html", context)


def _write(request, plan: Plan) -> None:
    action = request.POST.get("action")
    if action not in ACTIONS:
        messages.error(request, _("Unknown action."))
        return
    scenario = None
    if action != "create":
        scenario = _scenario_of(plan, request.POST.get("scenario"))
        if scenario is None:
            messages.error(request, _("That scenario no longer exists."))
            return
    name = request.POST.get("name", "")
    try:
        if action == "create":
            source = _scenario_of(plan, request.POST.get("copy_from"))
            made = service.do_create_scenario(request.user, plan, name=name, copy_from=source)
            messages.success(request, _("Scenario “%(name)s” created.") % {"name": made.name})
        elif action == "copy":
            made = service.do_create_scenario(
                request.user, plan, name=name.strip() or _copy_name(plan, scenario), copy_from=scenario
            )
            messages.success(
                request,
                _("“%(source)s” copied as “%(name)s”.") % {"source": scenario.name, "name": made.name},
            )
        elif action == "rename":
            old = scenario.name
            service.do_rename_scenario(request.user, scenario, name=name)
            messages.success(
                request, _("“%(old)s” renamed “%(name)s”.") % {"old": old, "name": scenario.name}
            )
        elif action == "delete":
            service.do_delete_scenario(request.user, scenario)
            messages.success(request, _("Scenario “%(name)s” deleted.") % {"name": scenario.name})
        else:
            service.do_promote_scenario(request.user, scenario)
            messages.success(request, _("“%(name)s” is now the plan.") % {"name": scenario.name})
    except DomainError as exc:
        messages.error(request, str(exc))


def _scenario_of(plan: Plan, raw: str | None) -> Scenario | None:
    if not raw or not raw.isdigit() or len(raw) > 18:
        return None
    return Scenario.objects.filter(plan=plan, pk=int(raw)).first()


def _copy_name(plan: Plan, source: Scenario) -> str:
    """“基准方案 副本”, then “基准方案 副本 2”… : the first name the plan does not use yet."""
    base = _("%(name)s copy") % {"name": source.name}
    base = base[: service.MAX_NAME - 3]
    taken = {n.lower() for n in plan.scenarios.values_list("name", flat=True)}
    name, n = base, 1
    while name.lower() in taken:
        n += 1
        name = f"{base} {n}"
    return name


@login_required
def compare(request, pk: int):
    plan = _plan(request, pk)
    every = list(plan.scenarios.all())
    chosen = _chosen(request.GET.getlist("s"), every)
    node = _node(request)
    result = service.compare(request.user, plan, chosen, unit=node) if chosen else None
    context = {
        "plan": plan,
        "every": every,
        "chosen_ids": [s.pk for s in chosen],
        "result": _presented(request, plan, result) if result else None,
        "trail": _trail(request, node or service.company_root()),
        "nav": "targets",
    }
    return render(request, "targets/compare.html", context)


def _chosen(raw_ids: list[str], every: list[Scenario]) -> list[Scenario]:
    """The scenarios asked for, in the order asked (the first is the base of the differences),
    or every scenario, the primary first."""
    by_id = {str(s.pk): s for s in every}
    chosen: list[Scenario] = []
    for raw in raw_ids[: service.MAX_SCENARIOS]:
        scenario = by_id.get(raw)
        if scenario is not None and scenario not in chosen:
            chosen.append(scenario)
    return chosen or every[: service.MAX_SCENARIOS]


def _node(request) -> OrgUnit | None:
    """The unit asked for, when the user may see it, or where a comparison starts."""
    raw = request.GET.get("unit", "")
    if not raw:
        return service.default_unit(request.user)
    if not raw.isdigit() or len(raw) > 18:
        raise Http404
    return get_object_or_404(OrgUnit.objects.restrict(request.user), pk=int(raw))


def _trail(request, node: OrgUnit | None) -> list[OrgUnit]:
    """The node's ancestors the user may see, for drilling back up."""
    if node is None:
        return []
    return list(node.ancestors().filter(pk__in=OrgUnit.objects.restrict(request.user).values("pk")))


def _presented(request, plan: Plan, result: dict) -> dict:
    metric = plan.metric
    language = lang()

    def show(value):
        return shown(value, metric, language)

    def diff(d):
        if d["amount"] is None:
            return {"amount": "—", "percent": "", "sign": 0}
        sign = (d["amount"] > 0) - (d["amount"] < 0)
        if sign == 0:
            return {"amount": "0", "percent": "", "sign": 0}
        percent = "" if d["percent"] is None else f"({d['percent']:+.1f}%)"
        return {"amount": ("+" if sign > 0 else "") + show(d["amount"]), "percent": percent, "sign": sign}

    def cells(entry):
        """Each scenario's figure with its difference from the first (none for the first)."""
        differences = [None, *(diff(d) for d in entry["differences"])]
        return {"pairs": list(zip([show(v) for v in entry["values"]], differences, strict=True))}

    base_url = reverse("targets:compare", args=[plan.pk])
    query = "&".join(f"s={s['id']}" for s in result["scenarios"])
    rows = []
    for row in result["rows"]:
        link = f"{base_url}?{query}&unit={row['id']}" if row["drill"] else None
        rows.append({**row, **cells(row), "link": link})
    names = [s["name"] for s in result["scenarios"]]
    money = is_money(metric)
    scale = 1 if money else 10**metric.decimals

    def number(value):
        if value is None:
            return None
        return value if money else value / scale

    bars = {
        "tooltip": {
            "trigger": "axis",
            "axisPointer": {"type": "shadow"},
            "valueFormatter": "cny" if money else None,
        },
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "axisLabel": {"formatter": "cny" if money else None, "hideOverlap": True}},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "triggerEvent": True,
            "data": [r["name"] for r in result["rows"]],
            "axisLabel": {"width": 84, "overflow": "truncate"},
        },
        "series": [
            {"name": name, "type": "bar", "data": [number(r["values"][i]) for r in result["rows"]]}
            for i, name in enumerate(names)
        ],
        "stLinks": [r["link"] for r in rows],
    }
    lines = {
        "tooltip": {"trigger": "axis", "valueFormatter": "cny" if money else None},
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [month_label(m["start"], language) for m in result["months"]]},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "cny" if money else None}},
        "series": [
            {"name": name, "type": "line", "data": [number(m["values"][i]) for m in result["months"]]}
            for i, name in enumerate(names)
        ],
    }
    for option in (bars, lines):
        _drop_none(option)
    return {
        **result,
        "total": cells(result["total"]),
        "children_sum": cells(result["children_sum"]),
        "rows": rows,
        "months": [
            {"label": month_label(m["start"], language), "values": [show(v) for v in m["values"]]}
            for m in result["months"]
        ],
        "columns": 1 + len(names),
        "bars": bars,
        "lines": lines,
        # Each row takes a bar per scenario: the chart grows with the rows so bars stay legible.
        "bars_height": max(280, 60 + len(rows) * (12 * len(names) + 14)),
    }


def _drop_none(node) -> None:
    """Formatter keys left empty (counts need none) would reach ECharts as null."""
    if isinstance(node, dict):
        for key in [k for k, v in node.items() if v is None and k in ("formatter", "valueFormatter")]:
            del node[key]
        for value in node.values():
            _drop_none(value)
    elif isinstance(node, list):
        for value in node:
            _drop_none(value)
