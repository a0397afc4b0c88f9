"""The kick-off page (团队共创): a node's top-down targets beside its teams' and reps'
commitments, the gap, who has committed, and the reconciliation. Thin: reads
``targets.commitments.kickoff``, writes through ``do_commit`` and ``do_reconcile``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from salestarget.core.errors import DomainError
from salestarget.org.models import OrgUnit, Person
from salestarget.targets import commitments
from salestarget.targets.grid import default_node
from salestarget.targets.models import Commitment, Plan


def _id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


@login_required
def kickoff(request, pk: int):
    from salestarget.actuals.summary import shown
    from salestarget.targets.labels import lang

    plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    unit_id = _id(request.GET.get("unit") or request.POST.get("unit"))
    unit = (
        get_object_or_404(OrgUnit.objects.restrict(request.user), pk=unit_id)
        if unit_id
        else default_node(request.user)
    )
    if unit is None:
        from django.http import Http404

        raise Http404
    here = reverse("targets:kickoff", kwargs={"pk": pk}) + f"?unit={unit.pk}"
    if request.method == "POST":
        try:
            _act(request, plan)
        except DomainError as exc:
            messages.error(request, str(exc))
        return redirect(here)
    data = commitments.kickoff(request.user, plan, unit)
    language = lang()

    def show(value):
        return "—" if value is None else shown(value, plan.metric, language)

    for row in data["rows"]:
        row["shown"] = {k: show(row[k]) for k in ("top_down", "target", "commitment", "result")}
        row["shown"]["gap"] = (
            "—" if row["gap"] is None else ("+" if row["gap"] > 0 else "") + show(row["gap"])
        )
    # "Up" only to a unit the user may open: none at the top of their own scope.
    up = (
        unit.parent_id
        if unit.parent_id and OrgUnit.objects.restrict(request.user).filter(pk=unit.parent_id).exists()
        else None
    )
    context = {
        "plan": plan,
        "unit": unit,
        "up": up,
        "data": data,
        "decisions": Commitment.Decision.choices,
        "decimals": plan.metric.decimals,
        "nav": "targets",
    }
    return render(request, "targets/kickoff.html", context)


def _act(request, plan: Plan) -> None:
    action = request.POST.get("action")
    if action == "commit":
        kind, node = request.POST.get("kind"), _id(request.POST.get("node"))
        # As the pages show amounts ("5,000万"), in yuan, exactly; never a 500 on "1e999999".
        minor = commitments.parse_amount(request.POST.get("amount", ""), plan.metric)
        owner = (
            {"unit": get_object_or_404(OrgUnit.objects.restrict(request.user), pk=node)}
            if kind == "unit"
            else {"person": get_object_or_404(Person.objects.restrict(request.user), pk=node)}
        )
        made = commitments.do_commit(
            request.user, plan, amount=minor, note=request.POST.get("note", ""), **owner
        )
        messages.success(request, _("Commitment recorded for %(who)s.") % {"who": made.unit or made.person})
        return
    if action == "reconcile":
        found = get_object_or_404(
            Commitment.objects.restrict(request.user).select_related("plan", "unit", "person"),
            pk=_id(request.POST.get("commitment")),
            plan=plan,
        )
        share = _id(request.POST.get("share")) or 50
        done = commitments.do_reconcile(
            request.user,
            found,
            request.POST.get("decision", ""),
            note=request.POST.get("note", ""),
            share=share,
        )
        messages.success(
            request,
            _("%(who)s: %(decision)s.")
            % {"who": found.unit or found.person, "decision": done.commitment.get_decision_display()},
        )
        return
    raise DomainError(_("Unknown action “%(action)s”."), action=action or "")
