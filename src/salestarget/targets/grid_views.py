"""The target grid page: the grid's data comes with the page (no second request before the
first paint); edits go to the API (``targets.grid_api``), which the page's script calls."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from salestarget.catalog.models import Product
from salestarget.org.models import OrgUnit
from salestarget.targets import grid as grids
from salestarget.targets.models import Plan, Scenario


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


@login_required
def grid_page(request, pk: int):
    plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=pk)
    scenarios = list(Scenario.objects.filter(plan=plan).select_related("plan__metric"))
    wanted = _id(request.GET.get("scenario"))
    scenario = next((s for s in scenarios if s.pk == wanted), None) if wanted else None
    if scenario is None:
        scenario = next((s for s in scenarios if s.is_primary), None)
    if scenario is None or (wanted and scenario.pk != wanted):
        raise Http404
    unit_id = _id(request.GET.get("unit"))
    if unit_id is None:
        unit = grids.default_node(request.user)
        if unit is None:
            raise Http404
    else:
        unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=unit_id)
    products = list(Product.objects.order_by("code").values("id", "code", "name")) if plan.by_product else []
    product_id = _id(request.GET.get("product"))
    product = (
        get_object_or_404(Product.objects.all(), pk=product_id) if product_id and plan.by_product else None
    )
    data = grids.grid(request.user, scenario, unit, product=product)
    config = {
        "grid": data,
        "api": {
            "grid": reverse("api:get_plan_grid", kwargs={"plan_id": plan.pk}),
            "cells": reverse("api:save_plan_cells", kwargs={"plan_id": plan.pk}),
            "requests": reverse("api:request_change", kwargs={"plan_id": plan.pk}),
            "commitments": reverse("api:commit", kwargs={"plan_id": plan.pk}),
        },
        "plan_page": reverse("targets:plan", kwargs={"pk": plan.pk}),
        "page": reverse("targets:grid", kwargs={"pk": plan.pk}),
        "words": words(),
    }
    context = {
        "plan": plan,
        "scenario": scenario,
        "scenarios": scenarios,
        "unit": unit,
        "products": products,
        "product": product,
        "grid": data,
        "config": config,
        "nav": "targets",
    }
    return render(request, "targets/grid.html", context)


def words() -> dict[str, str]:
    """The script's sentences, in the reader's language."""
    return {
        "name": _("Unit / person"),
        "year": _("Whole period"),
        "months_total": _("Sum of months"),
        "children_total": _("Children total"),
        "locked": _("Locked: a re-run of the decomposition keeps it"),
        "unlocked": _("Not locked"),
        "lock_row": _("Lock or unlock the whole row"),
        "saving": _("Saving…"),
        "saved": _("Saved."),
        "save_failed": _("Not saved: %(reason)s"),
        "conflict": _("Someone changed this cell since you loaded it: theirs %(theirs)s, yours %(yours)s."),
        "conflict_help": _(
            "Your values stay in the highlighted cells: save them again to replace theirs, or take theirs."
        ),
        "keep_mine": _("Save mine again"),
        "take_theirs": _("Take theirs"),
        "mismatch": _("The children add up to %(children)s, the parent has %(parent)s."),
        "not_number": _("“%(value)s” is not a number."),
        "too_many_decimals": _("At most %(places)s decimals."),
        "negative": _("A target cannot be negative."),
        "too_large": _("This number is too large."),
        "target_empty": _("A target cannot be empty: type 0 for no target."),
        "needs_target": _("Type the target of this cell first."),
        "locked_cell": _("This cell is locked: unlock it first (Ctrl+L)."),
        "read_only": _("You may not change this row."),
        "none": _("none"),
        "open_unit": _("Open this unit's grid"),
        "request_count": _("%(n)s changes to send"),
        "request_reason": _("Say why the targets change before sending the request."),
        "requested": _("Change request #%(n)s sent: it applies once someone above the unit accepts it."),
        "no_lock_in_force": _("Locks belong to drafts: a published plan's cells are not locked."),
        "commitment": _("Commitment"),
        "commitment_help": _(
            "Team commitment (团队共创): the figure a team or rep commits to for the whole period, "
            "beside the top-down target. Double-click your own row to commit."
        ),
        "gap": _("Gap"),
        "gap_help": _("The commitment minus the top-down target"),
        "committed": _("Commitment saved: %(amount)s."),
        "commitment_empty": _("A commitment cannot be empty."),
        "decided": _("Reconciled: %(decision)s"),
    }
