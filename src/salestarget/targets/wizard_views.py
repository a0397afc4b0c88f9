"""The decomposition wizard (a plan's total split over the organisation, its months, weeks and
product lines into one scenario) and the "why is my target this number?" page.

Thin: the form's fields become the rules' JSON, which ``decomposition.Rules.from_json`` checks
value by value (a ``DomainError`` is the form's error, as the API's 400 says it); the preview
and the explanation come from ``targets.decomposition``; the run is a background job whose
progress the page polls (htmx), as the import wizard's does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salestarget.actuals.summary import is_money, shown
from salestarget.core.errors import DomainError
from salestarget.org.models import Membership, OrgUnit
from salestarget.targets.labels import lang, month_label
from salestarget.targets.models import Plan, Scenario, TargetCell
from salestarget.targets.services import may_plan, plan_period

if TYPE_CHECKING:
    from salestarget.targets import decomposition

ORG_METHODS = {
    "history": gettext_lazy("By history share"),
    "capability": gettext_lazy("By capability"),
    "weights": gettext_lazy("By weights"),
    "even": gettext_lazy("Evenly"),
    "growth": gettext_lazy("By growth"),
}
MONTH_METHODS = {
    "seasonality": gettext_lazy("Seasonality on working days"),
    "even": gettext_lazy("Evenly by working days"),
    "profile": gettext_lazy("By a profile of percentages"),
}
PRODUCT_METHODS = {"history": gettext_lazy("By history share"), "even": gettext_lazy("Evenly")}
TIERS = ("A", "B", "C", "D")
# Blank vacancy rows offered below the declared ones: the form needs no script to add a row.
BLANK_VACANCIES = 2
PREVIEW_DEPTH = 2


def _plan_and_scenario(request, pk: int, scenario_id) -> tuple[Plan, Scenario]:
    plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    if not may_plan(request.user):
        raise PermissionDenied(_("Only those who look after the whole organisation may decompose a plan."))
    scenarios = plan.scenarios.all()
    if scenario_id in (None, ""):
        return plan, get_object_or_404(scenarios, is_primary=True)
    if not str(scenario_id).isdigit() or len(str(scenario_id)) > 18:
        raise Http404
    return plan, get_object_or_404(scenarios, pk=int(scenario_id))


# --- the organisation's levels and the form's values --------------------------------------------


def org_levels(plan: Plan) -> list[dict]:
    """Depth 1 (below the company) down to the deepest people, each named by the kinds of unit
    at that depth and, where people sit (one below their unit), by the reps."""
    kinds: dict[int, set[str]] = defaultdict(set)
    for depth, kind in OrgUnit.objects.values_list("depth", "kind").distinct():
        kinds[depth].add(kind)
    start = plan_period(plan).start
    people = {
        depth + 1
        for depth in Membership.objects.filter(role=Membership.Role.MEMBER)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
        .values_list("unit__depth", flat=True)
        .distinct()
    }
    deepest = max([*kinds, *people], default=0)
    levels = []
    for depth in range(1, deepest + 1):
        names = [str(OrgUnit.Kind(k).label) for k in OrgUnit.Kind.values if k in kinds.get(depth, ())]
        if depth in people:
            names.append(_("Sales representatives"))
        levels.append({"depth": depth, "label": "、".join(names) or _("Level %(depth)s") % {"depth": depth}})
    return levels


def default_rules(levels: list[dict]) -> decomposition.Rules:
    """Regions by their history, everything below by capability, months by the seasons."""
    from salestarget.targets import decomposition

    return decomposition.Rules(
        levels=tuple(
            decomposition.LevelRule(lv["depth"], method="history" if lv["depth"] == 1 else "capability")
            for lv in levels
        ),
        months="seasonality",
    )


def _num(value) -> str:
    return "" if value is None else f"{value:g}"


def values_from_rules(rules: decomposition.Rules, levels: list[dict]) -> dict:
    """The form's fields (text, as typed) from stored or default rules."""
    sections = []
    for lv in levels:
        rule = rules.level(lv["depth"])
        sections.append(
            {
                **lv,
                "method": rule.method,
                "years": str(rule.years),
                "recency": ",".join(_num(v) for v in rule.recency),
                "min_share": "" if rule.min_share is None else _num(round(rule.min_share * 100, 4)),
                "tiers": [(t, _num(rule.tiers.get(t))) for t in TIERS],
                "ramp": ",".join(_num(v) for v in rule.ramp),
                "growth": _num(rule.growth_bp / 100),
                "weights": "\n".join(f"{code} = {_num(v)}" for code, v in rule.weights.items()),
            }
        )
    return {
        "levels": sections,
        "months": rules.months,
        "month_years": str(rules.month_years),
        "profile": [_num(v) for v in rules.profile],
        "weeks": rules.weeks,
        "products": rules.products,
        "product_years": str(rules.product_years),
        "vacancies": [
            {"unit": str(v.unit_id), "start": v.start.isoformat(), "tier": v.tier} for v in rules.vacancies
        ],
    }


def values_from_post(post, levels: list[dict], months: int) -> dict:
    def field(name: str) -> str:
        return (post.get(name) or "").strip()

    sections = []
    for lv in levels:
        p = f"level-{lv['depth']}-"
        sections.append(
            {
                **lv,
                "method": field(p + "method"),
                "years": field(p + "years"),
                "recency": field(p + "recency"),
                "min_share": field(p + "min_share"),
                "tiers": [(t, field(f"{p}tier-{t}")) for t in TIERS],
                "ramp": field(p + "ramp"),
                "growth": field(p + "growth"),
                "weights": (post.get(p + "weights") or "").strip(),
            }
        )
    vacancies = []
    count = field("vacancy-count")
    for n in range(min(int(count), 200) if count.isdigit() and len(count) < 4 else 0):
        row = {k: field(f"vacancy-{n}-{k}") for k in ("unit", "start", "tier")}
        if row["unit"] or row["start"]:
            vacancies.append(row)
    return {
        "levels": sections,
        "months": field("months"),
        "month_years": field("month_years"),
        "profile": [field(f"profile-{m}") for m in range(months)],
        "weeks": post.get("weeks") == "on",
        "products": field("products") or "history",
        "product_years": field("product_years") or "2",
        "vacancies": vacancies,
    }


def _items(text: str) -> list[str]:
    """Weights and ramps as people type them: commas (either width), semicolons or spaces."""
    return [item for item in re.split(r"[\s,，、;；]+", text) if item]


def _weights(text: str, what) -> dict[str, str]:
    """``code = weight`` lines (also ``code: weight``, ``code weight`` or a tab from Excel)."""
    out = {}
    for number, line in enumerate(text.splitlines()[:100000], start=1):
        line = line.strip()
        if not line:
            continue
        parts = [p for p in re.split(r"\s*[=:：\t]\s*|\s+", line) if p]
        if len(parts) != 2:
            raise DomainError(
                gettext_lazy("%(what)s, weights line %(line)s: write “code = weight”, not “%(value)s”."),
                what=what,
                line=number,
                value=line,
            )
        out[parts[0]] = parts[1]
    return out


def _percent(text: str, what) -> float:
    try:
        return float(text)
    except ValueError:
        raise DomainError(
            gettext_lazy("%(what)s: “%(value)s” is not a number."), what=what, value=text
        ) from None


def rules_json(values: dict, plan: Plan) -> dict:
    """The form's text as the rules' JSON; ``Rules.from_json`` checks what it means."""
    levels = []
    for section in values["levels"]:
        where = _("Level %(depth)s") % {"depth": section["depth"]}
        level = {
            "depth": section["depth"],
            "method": section["method"],
            "years": section["years"] or "3",
            "tiers": {t: v for t, v in section["tiers"] if v},
        }
        if section["recency"]:
            level["recency"] = _items(section["recency"])
        level["min_share"] = (
            None if section["min_share"] == "" else _percent(section["min_share"], where) / 100
        )
        if section["ramp"]:
            level["ramp"] = _items(section["ramp"])
        if section["growth"]:
            level["growth_bp"] = round(_percent(section["growth"], where) * 100)
        if section["weights"]:
            level["weights"] = _weights(section["weights"], where)
        levels.append(level)
    data = {
        "levels": levels,
        "months": values["months"],
        "month_years": values["month_years"] or "3",
        "weeks": values["weeks"],
        "products": values["products"] if plan.by_product else "history",
        "product_years": values["product_years"] if plan.by_product else 2,
        "vacancies": [
            {
                "unit_id": int(v["unit"]) if v["unit"].isdigit() else None,
                "start": v["start"],
                "tier": v["tier"],
            }
            for v in values["vacancies"]
        ],
    }
    if values["months"] == "profile":
        data["profile"] = [v or "0" for v in values["profile"]]
    return data


# --- the wizard -----------------------------------------------------------------------------------


@login_required
def decompose(request, pk: int):
    """GET: the form, from the scenario's last rules or the defaults. POST ``action=preview``:
    the same page with what a run would make; ``action=run``: the job, then its progress."""
    from salestarget.targets import decomposition

    plan, scenario = _plan_and_scenario(request, pk, request.GET.get("scenario"))
    levels = org_levels(plan)
    language = lang()
    months = decomposition.plan_months(plan)
    error = preview = None
    if request.method == "POST":
        values = values_from_post(request.POST, levels, len(months))
        action = request.POST.get("action")
        try:
            rules = decomposition.Rules.from_json(rules_json(values, plan))
            if action == "run":
                if job_state(scenario)["state"] in ("queued", "running"):
                    raise DomainError(gettext_lazy("A decomposition of this scenario is running."))
                decomposition.do_start_decomposition(request.user, scenario, rules)
                return redirect("targets:decompose_progress", pk=plan.pk, scenario_id=scenario.pk)
            preview = _preview(request.user, plan, scenario, rules, language)
        except DomainError as exc:
            error = str(exc)
    else:
        rules = default_rules(levels)
        if scenario.rules:
            try:
                rules = decomposition.Rules.from_json(scenario.rules)
            except DomainError:
                pass  # rules kept from an organisation that has changed since: start afresh
        values = values_from_rules(rules, levels)
    typed = values["profile"]
    values["profile"] = [
        {"n": n, "label": m.label(language), "value": typed[n] if n < len(typed) else ""}
        for n, m in enumerate(months)
    ]
    vacancies = values["vacancies"] + [{"unit": "", "start": "", "tier": "B"}] * BLANK_VACANCIES
    total = _company_total(plan, scenario)
    context = {
        "plan": plan,
        "scenario": scenario,
        "scenarios": list(plan.scenarios.all()),
        "values": values,
        "vacancies": list(enumerate(vacancies)),
        "vacancy_count": len(vacancies),
        "org_methods": list(ORG_METHODS.items()),
        "month_methods": list(MONTH_METHODS.items()),
        "product_methods": list(PRODUCT_METHODS.items()),
        "tiers": TIERS,
        "units": OrgUnit.objects.filter(active=True).exclude(parent__isnull=True).order_by("path"),
        "is_draft": plan.status == Plan.Status.DRAFT,
        "total": None if total is None else shown(total, plan.metric, language),
        "error": error,
        "preview": preview,
        "job_running": job_state(scenario)["state"] in ("queued", "running"),
        "nav": "targets",
    }
    return render(request, "targets/decompose.html", context)


def _company_total(plan: Plan, scenario: Scenario) -> int | None:
    from salestarget.targets import decomposition

    try:
        return decomposition.company_total(plan, scenario)
    except DomainError:
        return None


def _preview(user, plan: Plan, scenario: Scenario, rules, language: str) -> dict:
    from salestarget.targets import decomposition

    data = decomposition.preview(user, scenario, rules, lang=language, depth=PREVIEW_DEPTH)
    metric = plan.metric
    money = is_money(metric)
    scale = 1 if money else 10**metric.decimals
    chart = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 12, "top": 16, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [month_label(dt.date.fromisoformat(m["start"]), language) for m in data["months"]],
            "axisLabel": {"hideOverlap": True},
        },
        "yAxis": {"type": "value", "axisLabel": {}},
        "series": [{"type": "bar", "data": [m["value"] / scale for m in data["months"]]}],
    }
    if money:
        chart["tooltip"]["valueFormatter"] = "cny"
        chart["yAxis"]["axisLabel"]["formatter"] = "cny"
    return {
        **data,
        "total": shown(data["total"], metric, language),
        "rows": [{**row, "value": shown(row["value"], metric, language)} for row in data["rows"]],
        "months": [{**m, "value": shown(m["value"], metric, language)} for m in data["months"]],
        "chart": chart,
    }


# --- the run's progress ---------------------------------------------------------------------------

PHASES = {
    "history": gettext_lazy("Reading the sales history"),
    "organisation": gettext_lazy("Splitting over the organisation"),
    "months": gettext_lazy("Splitting into months"),
    "weeks": gettext_lazy("Splitting into weeks"),
    "writing": gettext_lazy("Saving the targets"),
    "done": gettext_lazy("Done"),
}


def job_state(scenario: Scenario) -> dict:
    """The scenario's last run: queued, running, done (with its counts) or failed (with the
    reason a person can act on), from the job's row; its progress from the job's file."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from salestarget.jobs import progress

    if not scenario.job_id:
        return {"state": "none"}
    row = (
        DBTaskResult.objects.filter(id=scenario.job_id)
        .values("status", "return_value", "exception_class_path", "traceback")
        .first()
    )
    if row is None:
        return {"state": "none"}
    bar = progress.read(scenario.job_id) or {}
    state = {
        TaskResultStatus.READY: "queued",
        TaskResultStatus.RUNNING: "running",
        TaskResultStatus.SUCCESSFUL: "done",
        TaskResultStatus.FAILED: "failed",
    }[row["status"]]
    out = {"state": state, "progress": bar, "phase": PHASES.get(bar.get("phase"), "")}
    if state == "done":
        out["result"] = row["return_value"] or {}
    if state == "failed":
        out["reason"] = _reason(row["exception_class_path"], row["traceback"])
    return out


def _reason(path: str, trace: str) -> str:
    """A refused run (``jobs.Fail``) says why in the user's words; anything else is a bug whose
    details are in the job's row, not for the page."""
    if path.endswith(".Fail") and trace:
        last = trace.strip().splitlines()[-1]
        return last.split(": ", 1)[1] if ": " in last else last
    return _("The decomposition stopped with an unexpected error; IT finds the details in the job's log.")


@login_required
def decompose_progress(request, pk: int, scenario_id: int):
    """The run's page; htmx polls the same address every second for the card alone (the
    ``HX-Request`` header), which stops polling once the job has finished."""
    from salestarget.jobs.models import Worker

    plan, scenario = _plan_and_scenario(request, pk, scenario_id)
    job = job_state(scenario)
    context = {
        "plan": plan,
        "scenario": scenario,
        "job": job,
        "grid_url": _grid_url(plan, scenario),
        "no_worker": job["state"] == "queued" and not Worker.objects.exists(),
        "nav": "targets",
    }
    if request.headers.get("HX-Request"):
        return render(request, "targets/_decompose_progress.html", context)
    return render(request, "targets/decompose_progress.html", context)


def _grid_url(plan: Plan, scenario: Scenario) -> str:
    from django.urls import NoReverseMatch

    try:
        base = reverse("targets:grid", args=[plan.pk])
    except NoReverseMatch:
        base = f"/targets/plans/{plan.pk}/grid/"
    return f"{base}?scenario={scenario.pk}"


# --- why is my target this number? ----------------------------------------------------------------


@login_required
def why(request, cell_id: int):
    """The chain from the company total to one cell, for whoever may see the cell (a 404 for
    anyone else, as if it did not exist); the bare list for htmx (``HX-Request``)."""
    from salestarget.targets import decomposition

    cell = get_object_or_404(
        TargetCell.objects.restrict(request.user).select_related(
            "scenario__plan__metric", "unit", "person", "product"
        ),
        pk=cell_id,
    )
    language = lang()
    plan = cell.scenario.plan
    error = None
    try:
        steps = decomposition.why(request.user, cell, language)
    except DomainError as exc:  # a scenario whose company total is gone: nothing to start from
        steps, error = [], str(exc)
    from salestarget.targets.changes import cell_history

    levels = ("target", "floor", "stretch")
    history = [
        {
            **h,
            **{level: shown(h[level], plan.metric, language) for level in levels},
            "before": {level: shown(h["before"][level], plan.metric, language) for level in levels}
            if h["before"]
            else None,
        }
        for h in cell_history(cell)
    ]
    context = {
        "cell": cell,
        "history": history,
        "error": error,
        "plan": plan,
        "owner": cell.person.name if cell.person_id else cell.unit.name,
        "period": _period_text(cell, language),
        "value": shown(cell.target, plan.metric, language),
        "steps": steps,
        "grid_url": _grid_url(plan, cell.scenario),
        "can_plan": may_plan(request.user),
        "nav": "targets",
    }
    if request.headers.get("HX-Request"):
        return render(request, "targets/_why.html", context)
    return render(request, "targets/why.html", context)


def _period_text(cell: TargetCell, language: str) -> str:
    if cell.period_kind == TargetCell.PeriodKind.MONTH:
        return month_label(cell.period_start, language)
    kind = cell.get_period_kind_display()
    return f"{kind} {cell.period_start.isoformat()} – {cell.period_end.isoformat()}"
