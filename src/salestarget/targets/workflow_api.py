"""A plan's workflow over the API: where the plan and its units' parts stand, what the caller
may do, the steps so far; and one operation to act (submit, approve, send back, publish,
close). Writes go through ``targets.workflow``: 403 for an action the caller may not take, 400
for what the caller can fix, 409 when someone else acted first (the body says who and when)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from salestarget.core.api_contract import BodyIn, ErrorOut, Id, Text, responses
from salestarget.targets import workflow

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
