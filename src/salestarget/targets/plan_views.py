"""Plan pages: the list of plans, a new plan, and a plan's page where its company total is set
(typed, the recommendation at a chance, or last year × growth) beside its SMART panel. Thin:
reads from the models, writes through ``targets.services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salestarget.actuals.forms import unit_choices
from salestarget.core.errors import DomainError
from salestarget.org.models import OrgUnit
from salestarget.org.permissions import Action
from salestarget.targets import services
from salestarget.targets.models import Plan, PlanEvent
from salestarget.targets.plan_forms import PlanForm, TotalForm
from salestarget.targets.smart import chance_not_shown, company_total, smart


@login_required
def plans(request):
    """Everyone sees which plans exist (the cells carry the numbers and are scoped); those who
    look after the whole organisation create them."""
    can_plan = services.may_plan(request.user)
    form = PlanForm(request.POST or None, initial={"metric": "sales", "year": timezone.localdate().year + 1})
    if request.method == "POST":
        if not can_plan:
            raise PermissionDenied
        if form.is_valid():
            try:
                metric = form.cleaned_data["metric"]
                depth = (OrgUnit.objects.aggregate(d=Max("depth"))["d"] or 0) + 1
                plan = services.do_create_plan(
                    request.user, metric=metric, period=form.period(), **form.options(metric, depth)
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Plan “%(plan)s” created as a draft.") % {"plan": plan.name})
                return redirect("targets:plan", pk=plan.pk)
    rows = (
        Plan.objects.restrict(request.user)
        .select_related("metric")
        .order_by("-fiscal_year", "metric__sort_order", "period_start")
    )
    return render(
        request, "targets/plans.html", {"plans": rows, "form": form, "can_plan": can_plan, "nav": "targets"}
    )


@login_required
def plan(request, pk: int):
    the_plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    total = company_total(the_plan)
    # The chance of the company's total rests on the whole company's history: shown to those who
    # may see that history, the same figure for each of them; never one computed from a part of it.
    sees_history = services.reaches_whole_organisation(request.user, Action.VIEW)
    chance_hidden = total is not None and not sees_history
    recommendation = (
        services.plan_recommendation(request.user, the_plan) if total is not None and sees_history else None
    )
    chance = recommendation.probability_of(total.target) if recommendation and total else None
    planner = services.may_plan(request.user)
    can_plan = planner and the_plan.status == Plan.Status.DRAFT
    initial = {
        "method": the_plan.total_method or Plan.TotalMethod.RECOMMENDATION,
        "chance": the_plan.total_chance or 80,
    }
    from salestarget.actuals.summary import shown
    from salestarget.targets.labels import lang

    def show(value):
        return None if value is None else shown(value, the_plan.metric, lang())

    kinds: dict[int, set[str]] = {}
    for depth, kind in OrgUnit.objects.values_list("depth", "kind").distinct():
        kinds.setdefault(depth, set()).add(str(OrgUnit.Kind(kind).label))
    levels = [
        {
            "depth": "、".join(sorted(kinds[lv.depth])) if lv.depth in kinds else _("Sales reps"),
            "rounding": show(lv.rounding_unit) if lv.rounding_unit > 1 else _("none"),
            "over": f"{lv.over_assignment_bp / 100:g}%",
        }
        for lv in the_plan.levels.all()
    ]
    figures = {name: show(getattr(total, name)) for name in ("target", "floor", "stretch")} if total else None
    context = {
        "plan": the_plan,
        "period": services.plan_period(the_plan),
        "total": figures,
        "chance": None if chance is None else f"{chance:.0%}",
        "chance_hidden": chance_not_shown() if chance_hidden else None,
        "growth": None if the_plan.total_growth_bp is None else f"{the_plan.total_growth_bp / 100:+g}%",
        "floor_pct": _pct(the_plan.floor_factor),
        "stretch_pct": _pct(the_plan.stretch_factor),
        "smart": smart(the_plan, chance, chance_hidden=chance_hidden),
        "levels": levels,
        "form": TotalForm(the_plan.metric, initial=initial) if can_plan else None,
        "can_export": planner,
        "units": unit_choices(),
        "workflow": _workflow_context(request.user, the_plan),
        "requests": _requests_context(request.user, the_plan, show),
        "versions": range(the_plan.version, 0, -1) if planner and the_plan.version > 1 else None,
        "midyear": _midyear_context(request.user, the_plan),
        "rankings": Plan.Ranking.choices,
        "nav": "targets",
    }
    return render(request, "targets/plan.html", context)


STEPS = ("draft", "submitted", "approved", "published", "closed")


def _workflow_context(user, the_plan: Plan) -> dict:
    from salestarget.targets import workflow

    state = workflow.state(user, the_plan)
    reached = STEPS.index(the_plan.status)
    state["steps"] = [
        {"status": s, "label": Plan.Status(s).label, "done": i < reached, "current": i == reached}
        for i, s in enumerate(STEPS)
    ]
    state["unrecorded"] = _unrecorded(user, the_plan)
    state["units"] = workflow.submittable_units(user, the_plan)
    state["buttons"] = [
        {"action": a, "label": workflow.action_label(a)} for a, allowed in state["may"].items() if allowed
    ]
    return state


def _unrecorded(user, the_plan: Plan) -> str | None:
    """For a plan past draft without a recorded submission of its own, what is true of how it got
    there (created in that status, as the demo's plan, or moved there without the workflow);
    None when its history holds the steps, or it is still a draft."""
    if the_plan.status == Plan.Status.DRAFT:
        return None
    events = PlanEvent.objects.restrict(user).filter(plan=the_plan, unit__isnull=True)
    if events.filter(action=PlanEvent.Action.SUBMIT).exists():
        return None
    first = the_plan.history.order_by("history_date", "history_id").values_list("status", flat=True).first()
    if first and first != Plan.Status.DRAFT:
        return _("Created as “%(status)s”: no submission or approval was recorded.") % {
            "status": Plan.Status(first).label
        }
    return _("Became “%(status)s” without a recorded submission or approval.") % {
        "status": Plan.Status(the_plan.status).label
    }


def _requests_context(user, the_plan: Plan, show) -> list[dict]:
    """The change requests the user may see, each change named (unit or person, period, level)
    and shown in the metric's unit."""
    from salestarget.targets import changes

    rows = changes.requests_out(user, the_plan)
    for r in rows:
        r["lines"] = _change_lines(the_plan, r["changes"][:50], show)
        r["more"] = max(0, len(r["changes"]) - 50)
    return rows


def _change_lines(the_plan: Plan, items: list[dict], show) -> list[dict]:
    """Changed cells (a request's items, a difference's rows) named for people: the unit or the
    person, the period, the level, before and after in the metric's unit."""
    from salestarget.catalog.models import Product
    from salestarget.org.models import Person

    def names(model, field):
        return dict(model.objects.filter(pk__in={i[field] for i in items}).values_list("pk", "name"))

    units, people, products = (
        names(OrgUnit, "unit_id"),
        names(Person, "person_id"),
        names(Product, "product_id"),
    )
    levels = {"target": _("Target"), "floor": _("Floor"), "stretch": _("Stretch")}
    return [
        {
            "who": people.get(i["person_id"]) if i["person_id"] else units.get(i["unit_id"]),
            "product": products.get(i["product_id"]),
            "period": i["period_start"] if i["period_kind"] != the_plan.period_kind else _("whole period"),
            "level": levels.get(i["field"], i["field"]),
            "before": show(i["before"]) if i["before"] is not None else "—",
            "after": show(i["after"]) if i["after"] is not None else "—",
            "requests": i.get("requests", []),
        }
        for i in items
    ]


@login_required
def plan_versions(request, pk: int):
    """The plan's versions (each accepted change request makes one) and what changed between any
    two of them, cells the user may see only."""
    from salestarget.actuals.summary import shown
    from salestarget.targets import changes
    from salestarget.targets.labels import lang
    from salestarget.targets.models import ChangeRequest, PlanEvent

    the_plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    language = lang()

    def show(value):
        return shown(value, the_plan.metric, language)

    def number(name, default):
        try:
            return int(request.GET.get(name, default))
        except ValueError:
            return default

    old, new = number("old", max(1, the_plan.version - 1)), number("new", the_plan.version)
    error, lines = None, []
    try:
        rows = changes.visible_rows(request.user, the_plan, changes.differences(the_plan, old, new))
        lines = _change_lines(the_plan, rows[:1000], show)
    except DomainError as exc:
        error = str(exc)
    published = the_plan.events.filter(action=PlanEvent.Action.PUBLISH).select_related("actor").first()
    accepted = (
        ChangeRequest.objects.restrict(request.user)
        .filter(plan=the_plan, status=ChangeRequest.Status.ACCEPTED)
        .select_related("decided_by", "requested_by", "unit")
        .order_by("plan_version")
    )
    return render(
        request,
        "targets/versions.html",
        {
            "plan": the_plan,
            "old": old,
            "new": new,
            "numbers": range(the_plan.version, 0, -1),
            "published": published,
            "accepted": accepted,
            "lines": lines,
            "error": error,
            "nav": "targets",
        },
    )


def _midyear_context(user, the_plan: Plan) -> dict | None:
    """The mid-year change form for a published plan: the people and teams the user may change."""
    from salestarget.org.models import Person
    from salestarget.org.permissions import scope_of

    if the_plan.status != Plan.Status.PUBLISHED or not scope_of(user).can(Action.CHANGE):
        return None
    people = Person.objects.restrict(user, Action.CHANGE).order_by("code").values_list("pk", "name")[:500]
    units = OrgUnit.objects.restrict(user, Action.CHANGE).filter(parent__isnull=False).order_by("path")
    from salestarget.catalog.models import Region

    regions = Region.objects.order_by("path").values_list("pk", "name")[:500]
    return {
        "people": list(people),
        "units": list(units.values_list("pk", "name")[:500]),
        "regions": list(regions),
    }


@login_required
@require_POST
def plan_midyear(request, pk: int):
    """A move, departure or hire from the plan's page, as one change request."""
    import datetime as dt

    from salestarget.catalog.models import Region
    from salestarget.org.models import Person
    from salestarget.targets import midyear

    the_plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    post = request.POST
    try:
        person = Person.objects.restrict(request.user).get(pk=int(post.get("person", "")))
        unit = OrgUnit.objects.restrict(request.user).get(pk=int(post["unit"])) if post.get("unit") else None
        effective = dt.date.fromisoformat(post.get("effective", ""))
        region = Region.objects.get(pk=int(post["region"])) if post.get("region") else None
        to_person = (
            Person.objects.restrict(request.user).get(pk=int(post["to_person"]))
            if post.get("to_person")
            else None
        )
    except (ValueError, Person.DoesNotExist, OrgUnit.DoesNotExist, Region.DoesNotExist):
        messages.error(request, _("Choose the person, the team and the effective date."))
        return redirect("targets:plan", pk=pk)
    try:
        made = midyear.do_request_mid_year(
            request.user,
            the_plan,
            post.get("kind", ""),
            person=person,
            unit=unit,
            effective=effective,
            mode=post.get("mode", "vacancy"),
            source=post.get("source", "vacancy"),
            ramp=post.get("ramp", "").replace("，", ",").split(","),
            region=region,
            to_person=to_person,
            reason=post.get("reason", ""),
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Change request #%(n)s sent: it applies once someone above the unit accepts it.")
            % {"n": made.pk},
        )
    return redirect("targets:plan", pk=pk)


@login_required
@require_POST
def change_request_decide(request, pk: int, request_id: int):
    """Accept, decline or withdraw a change request from the plan's page."""
    from salestarget.targets import changes
    from salestarget.targets.models import ChangeRequest

    found = get_object_or_404(
        ChangeRequest.objects.restrict(request.user).select_related("plan", "unit"), pk=request_id, plan_id=pk
    )
    try:
        decided = changes.do_decide_change(
            request.user, found, request.POST.get("action", ""), comment=request.POST.get("comment", "")
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Change request #%(n)s: %(status)s.")
            % {"n": decided.pk, "status": decided.get_status_display()},
        )
    return redirect("targets:plan", pk=pk)


@login_required
@require_POST
def plan_tracking(request, pk: int):
    """The plan's tracking lines and who sees its leaderboard (planners)."""
    the_plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)

    # What was typed, by the label the form shows it under: "None" or "-1" in the message of the
    # lines' rule named no field and no value (QA). The rule itself stays in do_set_tracking.
    fields = {
        "warning_line_pct": _("Warning line"),
        "lagging_below_pct": _("Lagging below"),
        "ahead_above_pct": _("Ahead above"),
        "incentive_line_pct": _("Incentive line"),
    }
    values, problems = {}, []
    for name, label in fields.items():
        text = (request.POST.get(name) or "").strip()
        values[name] = int(text) if text.isdigit() and len(text) <= 4 else None
        if not text and name != "incentive_line_pct":
            problems.append(_("%(field)s: please fill it in.") % {"field": label})
        elif text and values[name] is None:
            problems.append(
                _("%(field)s: “%(value)s” is not a whole percentage.") % {"field": label, "value": text[:20]}
            )
    try:
        if problems:
            raise DomainError(" ".join(problems))
        services.do_set_tracking(request.user, the_plan, **values, ranking=request.POST.get("ranking", ""))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Tracking settings saved."))
    return redirect("targets:plan", pk=pk)


@login_required
@require_POST
def plan_restore(request, pk: int):
    """An earlier version of the plan as a new draft (planners)."""
    from salestarget.targets import changes

    the_plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = 0
    try:
        draft = changes.do_restore_version(request.user, the_plan, version)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("targets:plan", pk=pk)
    messages.success(
        request, _("Version %(n)s restored as the draft “%(name)s”.") % {"n": version, "name": draft.name}
    )
    return redirect("targets:plan", pk=draft.pk)


@login_required
@require_POST
def plan_workflow(request, pk: int):
    """One workflow step from the plan's page: the plan's, or a unit's part's."""
    from salestarget.targets import workflow

    the_plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    action = request.POST.get("action", "")
    unit = None
    if request.POST.get("unit"):
        try:
            unit_id = int(request.POST["unit"])
        except ValueError:
            unit_id = 0
        unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=unit_id)
    try:
        step = workflow.do_workflow(
            request.user, the_plan, action, unit=unit, comment=request.POST.get("comment", "")
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        what = step.unit.name if step.unit else the_plan.name
        messages.success(
            request, _("%(what)s: %(action)s.") % {"what": what, "action": workflow.past_label(step.action)}
        )
    return redirect("targets:plan", pk=pk)


def _pct(factor) -> str | None:
    """0.9000 -> "90%", 1.2250 -> "122.5%"."""
    if factor is None:
        return None
    text = f"{factor * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


@login_required
@require_POST
def plan_total(request, pk: int):
    the_plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    if not services.may_plan(request.user):
        raise PermissionDenied
    form = TotalForm(the_plan.metric, request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("targets:plan", pk=pk)
    try:
        result = services.do_set_plan_total(request.user, the_plan, **form.options())
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        from salestarget.actuals.summary import shown
        from salestarget.targets.labels import lang

        text = _("The company total is now %(amount)s.") % {
            "amount": shown(result.amount, the_plan.metric, lang())
        }
        if result.chance is not None:
            text += " " + _("Chance of reaching it from the history: %(chance)s.") % {
                "chance": f"{result.chance:.0%}"
            }
        messages.success(request, text)
    return redirect("targets:plan", pk=pk)


@login_required
def plan_export(request, pk: int):
    """The plan in the planners' layout (xlsx) or as one long table (csv), for those who plan:
    the file holds every unit's and person's targets."""
    from django.http import HttpResponse

    from salestarget.targets.labels import lang
    from salestarget.targets.workbook import export_plan

    the_plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    if not services.may_plan(request.user):
        raise PermissionDenied
    fmt = "csv" if request.GET.get("format") == "csv" else "xlsx"
    content = export_plan(the_plan, lang=lang(), fmt=fmt)
    kind = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
    response = HttpResponse(content, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="plan-{the_plan.pk}.{fmt}"'
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
@require_POST
def plan_import(request, pk: int):
    """A planners' workbook into the draft plan: every row checked, nothing written unless all
    pass; the errors, row by row, on the plan's page."""
    import tempfile
    from pathlib import Path

    from salestarget.actuals.parsing import Problem
    from salestarget.targets.workbook import do_import_plan_workbook

    the_plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    if not services.may_plan(request.user):
        raise PermissionDenied
    upload = request.FILES.get("file")
    unit = request.POST.get("unit") or "yuan"
    if upload is None:
        messages.error(request, _("Choose a file to import."))
        return redirect("targets:plan", pk=pk)
    suffix = Path(upload.name).suffix.lower()[:8] or ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
        handle.flush()
        try:
            result = do_import_plan_workbook(request.user, the_plan, handle.name, unit=unit)
        except (DomainError, Problem) as exc:
            messages.error(request, str(exc))
            return redirect("targets:plan", pk=pk)
    answer = result.as_dict()
    if result.ok:
        messages.success(
            request,
            _("%(cells)s targets imported from %(rows)s rows.")
            % {"cells": answer["cells_written"], "rows": answer["rows_read"]},
        )
    else:
        messages.error(request, _("Nothing was imported: %(n)s errors.") % {"n": answer["error_count"]})
        for error in answer["errors"][:20]:
            messages.error(request, _("Row %(row)s, %(column)s “%(value)s”: %(reason)s") % error)
    return redirect("targets:plan", pk=pk)


@login_required
def inbox(request):
    """What awaits my decision, my open change requests, and what changed in my targets."""
    from salestarget.targets.inbox import inbox as build

    return render(request, "targets/inbox.html", {"data": build(request.user), "nav": "inbox"})
