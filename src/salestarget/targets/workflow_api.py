"""A plan's workflow over the API: where the plan and its units' parts stand, what the caller
may do, the steps so far; and one operation to act (submit, approve, send back, publish,
close). Writes go through ``targets.workflow``: 403 for an action the caller may not take, 400
for what the caller can fix, 409 when someone else acted first (the body says who and when)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from salestarget.core.api_contract import (
    MAX_AMOUNT,
    BodyIn,
    ErrorOut,
    Id,
    IsoDate,
    QueryIn,
    Text,
    Whole,
    responses,
)
from salestarget.targets import workflow
from salestarget.targets.grid_api import CellChangeIn

router = Router(tags=["targets"])


class WorkflowIn(BodyIn):
    action: Literal["submit", "approve", "reject", "publish", "close"] = Field(
        description="reject sends the plan, or the unit's part, back to draft and needs a comment"
    )
    unit_id: Id | None = Field(
        None,
        description="a unit below the company whose part to submit, approve or send back; the plan itself if absent",
    )
    comment: Text(workflow.MAX_COMMENT) = ""


class ReviewOut(Schema):
    unit_id: int
    unit: str
    status: Literal["draft", "submitted", "approved"]
    status_label: str
    version: int
    may: dict[str, bool] = Field(description="submit, approve, reject: whether you may now")


class PlanEventOut(Schema):
    id: int
    action: str
    action_label: str
    unit_id: int | None
    unit: str | None
    by: str
    comment: str
    status_before: str
    status_after: str
    at: dt.datetime


class WorkflowOut(Schema):
    status: Literal["draft", "submitted", "approved", "published", "closed"]
    status_label: str
    may: dict[str, bool] = Field(
        description="submit, approve, reject, publish, close the plan: whether you may now"
    )
    reviews: list[ReviewOut] = Field(description="the units' parts you may see that were ever submitted")
    events: list[PlanEventOut] = Field(description="the steps so far, newest first (at most 200)")


def _plan(request, plan_id: int):
    from salestarget.targets.models import Plan

    return get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=plan_id)


@router.get("/plans/{plan_id}/workflow", response=responses(WorkflowOut, 404, 422))
def get_workflow(request, plan_id: Id):
    """Where the plan and its units' parts stand, what you may do now, and every step so far."""
    plan = _plan(request, plan_id)
    return workflow.state(request.user, plan)


@router.post(
    "/plans/{plan_id}/workflow", response={**responses(WorkflowOut, 400, 403, 404, 413, 422), 409: ErrorOut}
)
def act_on_plan(request, plan_id: Id, body: WorkflowIn):
    """Submit, approve, send back (reject), publish or close the plan, or submit, approve or send
    back one unit's part. 409 when the plan or the part moved on since you read it."""
    from salestarget.org.models import OrgUnit

    plan = _plan(request, plan_id)
    unit = None
    if body.unit_id is not None:
        unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=body.unit_id)
    try:
        workflow.do_workflow(request.user, plan, body.action, unit=unit, comment=body.comment)
    except workflow.Stale as exc:
        return Status(409, {"detail": str(exc), "errors": []})
    plan.refresh_from_db(fields=["status"])
    return workflow.state(request.user, plan)


# --- change requests (a published plan) -----------------------------------------------------------


class ChangeRequestIn(BodyIn):
    reason: Text(2000, 1)
    changes: list[CellChangeIn] = Field(max_length=1000, description="the grid's edits, as for saving cells")


class DecisionIn(BodyIn):
    action: Literal["accept", "decline", "withdraw"]
    comment: Text(2000) = ""


class ChangeItemOut(Schema):
    id: int | None = Field(description="the stored cell, or None for a cell the change creates")
    version: int | None
    unit_id: int | None
    person_id: int | None
    period_kind: str
    period_start: str
    product_id: int | None
    field: str
    before: int | None
    after: int | None


class ChangeRequestOut(Schema):
    id: int
    unit_id: int
    unit: str
    kind: str
    reason: str
    status: Literal["pending", "accepted", "declined", "withdrawn"]
    status_label: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision: str
    plan_version: int | None = Field(description="the plan's version the request made, once accepted")
    changes: list[ChangeItemOut]
    may: dict[str, bool] = Field(description="accept, decline, withdraw: whether you may now")


class VersionsQuery(QueryIn):
    old: Whole(1, 2**31 - 1) = Field(1, description="the older version (1: as published)")
    new: Whole(1, 2**31 - 1) | None = Field(None, description="the newer version; the current one by default")


class DifferenceRowOut(Schema):
    unit_id: int | None
    person_id: int | None
    period_kind: str
    period_start: str
    product_id: int | None
    field: str
    before: int | None
    after: int | None
    requests: list[int]


class DifferencesOut(Schema):
    old: int
    new: int
    rows: list[DifferenceRowOut]


class RestoredOut(Schema):
    id: int
    name: str
    status: str
    restored_from: int


class CellLevelsOut(Schema):
    target: int | None
    floor: int | None
    stretch: int | None


class CellHistoryOut(Schema):
    at: dt.datetime
    by: str
    reason: str
    kind: Literal["+", "~", "-"] = Field(description="created, changed, deleted")
    target: int | None
    floor: int | None
    stretch: int | None
    before: CellLevelsOut | None = Field(description="the levels before this change (null for the first row)")


@router.get("/plans/{plan_id}/change-requests", response=responses(list[ChangeRequestOut], 404, 422))
def list_change_requests(request, plan_id: Id):
    """The plan's change requests you may see (about units you reach, or asked by you), newest first."""
    from salestarget.targets import changes

    return changes.requests_out(request.user, _plan(request, plan_id))


@router.post(
    "/plans/{plan_id}/change-requests", response=responses(ChangeRequestOut, 400, 403, 404, 413, 422)
)
def request_change(request, plan_id: Id, body: ChangeRequestIn):
    """Ask for a change to a published plan's targets, with a reason; applied when someone above
    the unit accepts it."""
    from salestarget.targets import changes
    from salestarget.targets.grid import CellChange

    plan = _plan(request, plan_id)
    edits = [CellChange(**c.model_dump()) for c in body.changes]
    made = changes.do_request_change(request.user, plan, edits, reason=body.reason)
    return changes.request_out(request.user, made)


@router.post(
    "/change-requests/{request_id}",
    response={**responses(ChangeRequestOut, 400, 403, 404, 413, 422), 409: ErrorOut},
)
def decide_change(request, request_id: Id, body: DecisionIn):
    """Accept or decline (with a reason) a pending change request, or withdraw your own. 409 when
    it was decided meanwhile."""
    from salestarget.targets import changes
    from salestarget.targets.models import ChangeRequest

    found = get_object_or_404(
        ChangeRequest.objects.restrict(request.user).select_related("plan", "unit"), pk=request_id
    )
    try:
        decided = changes.do_decide_change(request.user, found, body.action, comment=body.comment)
    except workflow.Stale as exc:
        return Status(409, {"detail": str(exc), "errors": []})
    return changes.request_out(request.user, decided)


@router.get("/plans/{plan_id}/versions", response=responses(DifferencesOut, 400, 404, 422))
def version_differences(request, plan_id: Id, q: Query[VersionsQuery]):
    """What changed between two versions: per cell and level, the value then and now, and the
    accepted requests that changed it. Only cells you may see."""
    from salestarget.targets import changes

    plan = _plan(request, plan_id)
    new = plan.version if q.new is None else q.new
    rows = changes.differences(plan, q.old, new)
    return {"old": q.old, "new": new, "rows": changes.visible_rows(request.user, plan, rows)}


@router.post(
    "/plans/{plan_id}/versions/{version}/restore", response=responses(RestoredOut, 400, 403, 404, 413, 422)
)
def restore_version(request, plan_id: Id, version: Whole(1, 2**31 - 1)):
    """A new draft plan holding this plan as it stood at ``version``; the plan itself is not changed.
    For those who plan the whole organisation."""
    from salestarget.targets import changes

    draft = changes.do_restore_version(request.user, _plan(request, plan_id), version)
    return {"id": draft.pk, "name": draft.name, "status": draft.status, "restored_from": plan_id}


@router.get("/cells/{cell_id}/history", response=responses(list[CellHistoryOut], 404, 422))
def cell_history(request, cell_id: Id):
    """Every change of one cell, newest first: who, when, why, and its levels before and after."""
    from salestarget.targets import changes
    from salestarget.targets.models import TargetCell

    cell = get_object_or_404(TargetCell.objects.restrict(request.user), pk=cell_id)
    return changes.cell_history(cell)


@router.get("/inbox", response=responses(dict[str, Any], 422))
def get_inbox(request):
    """What awaits your decision (``awaiting``: units' parts, plans, change requests, commitments),
    your open change requests (``mine``), and what changed in the targets you see (``news``,
    the last 90 days)."""
    from salestarget.targets.inbox import inbox

    return inbox(request.user)


# --- team commitments (a draft plan) --------------------------------------------------------------


class KickoffQuery(QueryIn):
    unit_id: Id | None = Field(None, description="the node: the topmost unit you may see by default")


class CommitIn(BodyIn):
    unit_id: Id | None = Field(None, description="a unit below the company (or person_id)")
    person_id: Id | None = None
    amount: Whole(0, MAX_AMOUNT, description="the metric's minor units (fen)")
    note: Text(2000) = ""


class ReconcileIn(BodyIn):
    decision: Literal["keep", "accept", "split"]
    note: Text(2000) = Field("", description="required to keep the top-down target")
    share: Whole(0, 100, description="split: percent of the gap the target moves toward the commitment") = 50


class CommitmentOut(Schema):
    id: int
    unit_id: int | None
    person_id: int | None
    amount: int
    note: str
    top_down: int | None
    decision: str
    decision_note: str
    result: int | None


def _commitment_out(c) -> dict:
    return {
        "id": c.pk,
        "unit_id": c.unit_id,
        "person_id": c.person_id,
        "amount": c.amount,
        "note": c.note,
        "top_down": c.top_down,
        "decision": c.decision,
        "decision_note": c.decision_note,
        "result": c.result,
    }


@router.get("/plans/{plan_id}/commitments", response=responses(dict[str, Any], 404, 422))
def get_kickoff(request, plan_id: Id, q: Query[KickoffQuery]):
    """The kick-off view of a node: for it, its sub-units and its people, the top-down target, the
    commitment, the gap and the decision; who has committed and who has not (``waiting``)."""
    from django.http import Http404

    from salestarget.org.models import OrgUnit
    from salestarget.targets import commitments
    from salestarget.targets.grid import default_node

    plan = _plan(request, plan_id)
    unit = (
        default_node(request.user)
        if q.unit_id is None
        else get_object_or_404(OrgUnit.objects.restrict(request.user), pk=q.unit_id)
    )
    if unit is None:
        raise Http404
    return commitments.kickoff(request.user, plan, unit)


@router.post("/plans/{plan_id}/commitments", response=responses(CommitmentOut, 400, 403, 404, 413, 422))
def commit(request, plan_id: Id, body: CommitIn):
    """Commit a figure for your team (or a unit below it) or yourself, while the plan is a draft."""
    from salestarget.org.models import OrgUnit, Person
    from salestarget.targets import commitments

    plan = _plan(request, plan_id)
    unit = (
        None
        if body.unit_id is None
        else get_object_or_404(OrgUnit.objects.restrict(request.user), pk=body.unit_id)
    )
    person = (
        None
        if body.person_id is None
        else get_object_or_404(Person.objects.restrict(request.user), pk=body.person_id)
    )
    made = commitments.do_commit(
        request.user, plan, unit=unit, person=person, amount=body.amount, note=body.note
    )
    return _commitment_out(made)


@router.post(
    "/commitments/{commitment_id}/reconcile", response=responses(CommitmentOut, 400, 403, 404, 413, 422)
)
def reconcile(request, commitment_id: Id, body: ReconcileIn):
    """Keep the top-down target (with a note), accept the commitment, or split the difference;
    the node's target for the period becomes the result."""
    from salestarget.targets import commitments
    from salestarget.targets.models import Commitment

    found = get_object_or_404(
        Commitment.objects.restrict(request.user).select_related("plan", "unit", "person"), pk=commitment_id
    )
    done = commitments.do_reconcile(request.user, found, body.decision, note=body.note, share=body.share)
    return _commitment_out(done.commitment)


# --- mid-year changes (a published plan) ----------------------------------------------------------


class MidYearIn(BodyIn):
    kind: Literal["move", "depart", "hire", "territory"]
    person_id: Id = Field(description="who moves, leaves or joins; territory: who gives it up")
    region_id: Id | None = Field(None, description="territory: the region that changes hands")
    to_person_id: Id | None = Field(None, description="territory: who takes it over")
    share_bp: Whole(0, 10_000) | None = Field(
        None, description="territory: its share of the remaining target in basis points; by history if absent"
    )
    unit_id: Id | None = Field(None, description="move: the new team; hire: the team joined")
    effective: IsoDate = Field(description="the first day the change applies (within the plan's period)")
    mode: Literal["vacancy", "redistribute"] = Field(
        "vacancy", description="depart: what becomes of the rest"
    )
    source: Literal["vacancy", "team"] = Field("vacancy", description="hire: where the new target comes from")
    ramp: list[Text(12, 1)] = Field(
        default_factory=lambda: ["0.25", "0.5", "0.75", "1"],
        max_length=24,
        description="hire: factors per month from the effective month, 0 to 1",
    )
    reason: Text(2000, 1)


@router.post(
    "/plans/{plan_id}/mid-year-changes", response=responses(ChangeRequestOut, 400, 403, 404, 413, 422)
)
def mid_year_change(request, plan_id: Id, body: MidYearIn):
    """A move, departure or hire as one change request: only the remaining target from the
    effective date moves, split by working days in its month, exact to the fen; the request
    explains the amounts."""
    from salestarget.catalog.models import Region
    from salestarget.org.models import OrgUnit, Person
    from salestarget.targets import changes, midyear

    plan = _plan(request, plan_id)
    person = get_object_or_404(Person.objects.restrict(request.user), pk=body.person_id)
    unit = (
        None
        if body.unit_id is None
        else get_object_or_404(OrgUnit.objects.restrict(request.user), pk=body.unit_id)
    )
    region = None if body.region_id is None else get_object_or_404(Region.objects.all(), pk=body.region_id)
    to_person = (
        None
        if body.to_person_id is None
        else get_object_or_404(Person.objects.restrict(request.user), pk=body.to_person_id)
    )
    made = midyear.do_request_mid_year(
        request.user,
        plan,
        body.kind,
        person=person,
        unit=unit,
        effective=body.effective,
        mode=body.mode,
        source=body.source,
        ramp=body.ramp,
        region=region,
        to_person=to_person,
        share_bp=body.share_bp,
        reason=body.reason,
    )
    return changes.request_out(request.user, made)
