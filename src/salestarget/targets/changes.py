"""Changes to a plan in force (issue 14): nothing published is overwritten in place.

A manager (or sales operations) asks for a change with a reason: the grid's edits, each cell's
value and version as read. Someone above the unit the change is about accepts or declines it
(four eyes: never the one who asked, except an administrator); the asker may withdraw it.
Accepting writes the cells on the versions read — a cell changed meanwhile makes the accept fail
and says so, nothing half-applied — and makes the plan's next version. The accepted requests
are the plan's history: any version is the current cells with the later requests undone, which
gives the difference between two versions and a restored earlier version as a new draft.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salestarget.core.errors import DomainError
from salestarget.org.models import Membership, OrgUnit, active_on
from salestarget.org.permissions import Action, scope_of
from salestarget.targets import grid
from salestarget.targets.models import ChangeRequest, Plan, PlanEvent, Scenario, TargetCell
from salestarget.targets.workflow import Stale, _user

MAX_REASON = 2000
MAX_CHANGES = 1000


def do_request_change(
    user, plan: Plan, changes: Sequence[grid.CellChange], *, reason: str, kind: str = "edit"
) -> ChangeRequest:
    """Ask for ``changes`` to the published plan's cells. The asker must reach every cell as in
    the grid (their change reach); the cells' versions must be current."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the target changes: a reason is required."))
    if len(reason) > MAX_REASON:
        raise DomainError(_("A reason holds at most %(n)s characters."), n=MAX_REASON)
    if plan.status != Plan.Status.PUBLISHED:
        raise DomainError(
            _("Only a published plan changes through change requests; a draft is edited directly.")
        )
    if not changes:
        raise DomainError(_("A change request changes at least one target."))
    if len(changes) > MAX_CHANGES:
        raise DomainError(_("A change request holds at most %(n)s changes."), n=MAX_CHANGES)
    scenario = plan.scenarios.get(is_primary=True)
    by_id, by_key = grid.parse_changes(plan, changes)
    with transaction.atomic():
        stored = grid._stored(user, scenario, by_id)
        if by_key:
            grid._check_new(scope_of(user).reach(Action.CHANGE), by_key)
        items = []
        for pk, edit in by_id.items():
            cell = stored[pk]
            for field, value in edit.values.items():
                items.append(
                    _item(grid.cell_key_out(cell), field, getattr(cell, field), value, pk, edit.version)
                )
        for key, edit in by_key.items():
            unit_id, person_id, kind_, start, product_id = key
            cell_key_ = {
                "unit_id": unit_id,
                "person_id": person_id,
                "period_kind": kind_,
                "period_start": start.isoformat(),
                "product_id": product_id,
            }
            for field, value in edit.values.items():
                items.append(_item(cell_key_, field, None, value, None, None))
        items = [i for i in items if i["before"] != i["after"]]
        if not items:
            raise DomainError(_("Nothing changes: every value is already the one asked for."))
        request = ChangeRequest.objects.create(
            plan=plan,
            unit=_anchor(plan, items),
            kind=kind,
            reason=reason,
            changes=items,
            requested_by=_user(user),
        )
        _event(user, plan, request, PlanEvent.Action.REQUEST, reason)
    return request


def _item(key: dict, field: str, before, after, cell_id, version) -> dict:
    return {**key, "field": field, "before": before, "after": after, "id": cell_id, "version": version}


def _anchor(plan: Plan, items: list[dict]) -> OrgUnit:
    """The lowest unit holding every changed cell: a unit's cell is the unit's; a person's, the
    team they belong to on the first day of the cell's period (or today, when later)."""
    paths = []
    for item in items:
        if item["unit_id"] is not None:
            paths.append(OrgUnit.objects.get(pk=item["unit_id"]).path)
            continue
        day = max(dt.date.fromisoformat(item["period_start"]), min(timezone.localdate(), plan.period_end))
        membership = (
            Membership.objects.filter(active_on(day), person_id=item["person_id"])
            .select_related("unit")
            .order_by("-valid_from")
            .first()
        )
        if membership is None:
            membership = (
                Membership.objects.filter(person_id=item["person_id"])
                .select_related("unit")
                .order_by("-valid_from")
                .first()
            )
        if membership is None:
            raise DomainError(_("The person of a changed target belongs to no unit."))
        paths.append(membership.unit.path)
    common = paths[0].strip("/").split("/")
    for path in paths[1:]:
        ids = path.strip("/").split("/")
        n = 0
        while n < min(len(common), len(ids)) and common[n] == ids[n]:
            n += 1
        common = common[:n]
    if not common:
        return OrgUnit.objects.get(parent__isnull=True)
    return OrgUnit.objects.get(pk=int(common[-1]))


# --- deciding -------------------------------------------------------------------------------------


def may_decide(user, request: ChangeRequest) -> bool:
    """Someone above the unit the change is about (a company-wide approve reach for the company's
    own cells)."""
    if user is None:
        return True
    reach = scope_of(user).reach(Action.APPROVE)
    if reach.everything:
        return True
    path = request.unit.path
    return any(path.startswith(p) and path != p for p in reach.paths)


def do_decide_change(user, request: ChangeRequest, action: str, *, comment: str = "") -> ChangeRequest:
    """Accept, decline or withdraw a pending request. Of two deciding at once, one wins; the
    other is told who was first."""
    comment = (comment or "").strip()
    if action not in ("accept", "decline", "withdraw"):
        raise DomainError(_("Unknown action “%(action)s”."), action=action)
    if len(comment) > MAX_REASON:
        raise DomainError(_("A comment holds at most %(n)s characters."), n=MAX_REASON)
    if action == "withdraw":
        if user is not None and request.requested_by_id != user.pk:
            raise PermissionDenied(_("Only the one who asked withdraws a change request."))
    else:
        if not may_decide(user, request):
            raise PermissionDenied(
                _("Only someone above %(unit)s decides this change.") % {"unit": request.unit.name}
            )
        if user is not None and not user.is_superuser and request.requested_by_id == user.pk:
            raise PermissionDenied(_("You asked for this change yourself: someone above you decides it."))
    if action == "decline" and not comment:
        raise DomainError(_("Say why the change is declined: a comment is required."))
    status = {
        "accept": ChangeRequest.Status.ACCEPTED,
        "decline": ChangeRequest.Status.DECLINED,
        "withdraw": ChangeRequest.Status.WITHDRAWN,
    }[action]
    plan = request.plan
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        moved = ChangeRequest.objects.filter(pk=request.pk, status=ChangeRequest.Status.PENDING).update(
            status=status, decided_by=_user(user), decided_at=timezone.now(), decision=comment
        )
        if not moved:
            request.refresh_from_db()
            raise Stale(_decided_message(request))
        if action == "accept":
            if plan.status != Plan.Status.PUBLISHED:
                raise DomainError(_("The plan is no longer published: the change cannot be applied."))
            _apply(user, plan, request)
            Plan.objects.filter(pk=plan.pk).update(version=F("version") + 1)
            plan.refresh_from_db(fields=["version"])
            ChangeRequest.objects.filter(pk=request.pk).update(plan_version=plan.version)
        request.refresh_from_db()
        kind = {
            "accept": PlanEvent.Action.ACCEPT,
            "decline": PlanEvent.Action.DECLINE,
            "withdraw": PlanEvent.Action.WITHDRAW,
        }[action]
        _event(user, plan, request, kind, comment)
    return request


def _apply(user, plan: Plan, request: ChangeRequest) -> None:
    scenario = plan.scenarios.get(is_primary=True)
    changes = [
        grid.CellChange(
            id=item["id"],
            version=item["version"],
            **(
                {}
                if item["id"] is not None
                else {
                    "unit_id": item["unit_id"],
                    "person_id": item["person_id"],
                    "period_kind": item["period_kind"],
                    "period_start": dt.date.fromisoformat(item["period_start"]),
                    "product_id": item["product_id"],
                }
            ),
            field=item["field"],
            value=item["after"],
        )
        for item in request.changes
    ]
    by_id, by_key = grid.parse_changes(plan, changes)
    reason = _("Change request #%(n)s: %(reason)s") % {"n": request.pk, "reason": request.reason}
    try:
        grid.apply_edits(scenario, plan, by_id, by_key, user=user, checked=False, reason=reason)
    except grid.Conflict as exc:
        raise DomainError(
            _(
                "%(n)s of the targets changed since this request was made: nothing was applied. "
                "Decline it and ask again from the current values."
            ),
            n=len(exc.cells),
        ) from exc
    months = {
        dt.date.fromisoformat(item["period_start"])
        for item in request.changes
        if item["period_kind"] == "month" and item["field"] == "target"
    }
    if months:
        from salestarget.targets.decomposition import refit_weeks  # numpy: off the start-up path

        refit_weeks(scenario, months, user=user, reason=reason)


def _decided_message(request: ChangeRequest) -> str:
    who = request.decided_by
    return _("Change request #%(n)s is already %(status)s (%(who)s, %(when)s).") % {
        "n": request.pk,
        "status": ChangeRequest.Status(request.status).label,
        "who": (who.get_full_name() or who.get_username()) if who else _("command line"),
        "when": timezone.localtime(request.decided_at).strftime("%Y-%m-%d %H:%M")
        if request.decided_at
        else "",
    }


def _event(user, plan: Plan, request: ChangeRequest, action: str, comment: str) -> PlanEvent:
    return PlanEvent.objects.create(
        plan=plan,
        unit=request.unit,
        action=action,
        actor=_user(user),
        comment=f"#{request.pk} {comment}".strip(),
        status_before=plan.status,
        status_after=plan.status,
    )


# --- versions -------------------------------------------------------------------------------------


def differences(plan: Plan, old: int, new: int) -> list[dict]:
    """What changed between two versions of the plan (``old`` < ``new``): per cell and level, the
    value in ``old`` and in ``new``, with the requests that changed it."""
    if not 1 <= old <= new <= plan.version:
        raise DomainError(_("Versions run from 1 to %(last)s; give the older first."), last=plan.version)
    accepted = plan.change_requests.filter(
        status=ChangeRequest.Status.ACCEPTED, plan_version__gt=old, plan_version__lte=new
    ).order_by("plan_version")
    out: dict[tuple, dict] = {}
    for request in accepted:
        for item in request.changes:
            key = (
                item["unit_id"],
                item["person_id"],
                item["period_kind"],
                item["period_start"],
                item["product_id"],
                item["field"],
            )
            row = out.get(key)
            if row is None:
                row = out[key] = {
                    **{
                        k: item[k]
                        for k in ("unit_id", "person_id", "period_kind", "period_start", "product_id")
                    },
                    "field": item["field"],
                    "before": item["before"],
                    "requests": [],
                }
            row["after"] = item["after"]
            row["requests"].append(request.pk)
    return [row for row in out.values() if row["before"] != row["after"]]


def do_restore_version(user, plan: Plan, version: int) -> Plan:
    """A new draft plan holding ``plan`` as it stood at ``version``: the current cells with every
    later accepted request undone. The published plan stays as it is."""
    from salestarget.targets.scenarios import _copy_cells
    from salestarget.targets.services import _check_may_plan

    _check_may_plan(user)
    plan = Plan.objects.get(pk=plan.pk)  # the version as stored, not as the caller last read it
    undo = differences(plan, version, plan.version) if version < plan.version else []
    with transaction.atomic():
        draft = Plan.objects.get(pk=plan.pk)
        levels = list(draft.levels.all())
        draft.pk = None
        draft.id = None
        draft.status = Plan.Status.DRAFT
        draft.version = 1
        draft.restored_from = plan
        draft.created_by = _user(user)
        draft.name = _("%(name)s (version %(n)s)") % {"name": plan.name, "n": version}
        draft.save()
        for level in levels:
            level.pk = None
            level.plan = draft
            level.save()
        target = Scenario.objects.create(
            plan=draft, name=plan.scenarios.get(is_primary=True).name, is_primary=True
        )
        _copy_cells(plan.scenarios.get(is_primary=True), target, user)
        for row in undo:
            cells = target.cells.filter(
                unit_id=row["unit_id"] if row["person_id"] is None else None,
                person_id=row["person_id"],
                period_kind=row["period_kind"],
                period_start=row["period_start"],
                product_id=row["product_id"],
                region__isnull=True,
                segment__isnull=True,
            )
            if row["before"] is None and row["field"] == "target":
                cells.delete()  # made by a later request
            else:
                cells.update(**{row["field"]: row["before"]})
        months = {
            dt.date.fromisoformat(str(row["period_start"]))
            for row in undo
            if row["period_kind"] == "month" and row["field"] == "target"
        }
        if months:
            from salestarget.targets.decomposition import refit_weeks

            refit_weeks(target, months, user=user, reason=_("Version %(n)s restored") % {"n": version})
        _event_plain(
            user,
            plan,
            PlanEvent.Action.RESTORE,
            _("Version %(n)s as draft “%(name)s”") % {"n": version, "name": draft.name},
        )
    return draft


def _event_plain(user, plan: Plan, action: str, comment: str) -> None:
    PlanEvent.objects.create(
        plan=plan,
        action=action,
        actor=_user(user),
        comment=comment,
        status_before=plan.status,
        status_after=plan.status,
    )


def requests_out(user, plan: Plan) -> list[dict]:
    """The plan's change requests the user may see, newest first, with whether they may decide."""
    rows = (
        ChangeRequest.objects.restrict(user)
        .filter(plan=plan)
        .select_related("unit", "requested_by", "decided_by")[:200]
    )
    return [request_out(user, r) for r in rows]


def request_out(user, r: ChangeRequest) -> dict:
    def name(u):
        return (u.get_full_name() or u.get_username()) if u else _("command line")

    pending = r.status == ChangeRequest.Status.PENDING
    own = user is not None and r.requested_by_id == getattr(user, "pk", None)
    return {
        "id": r.pk,
        "unit_id": r.unit_id,
        "unit": r.unit.name,
        "kind": r.kind,
        "reason": r.reason,
        "status": r.status,
        "status_label": str(ChangeRequest.Status(r.status).label),
        "requested_by": name(r.requested_by),
        "requested_at": r.requested_at,
        "decided_by": name(r.decided_by) if r.decided_at else None,
        "decided_at": r.decided_at,
        "decision": r.decision,
        "plan_version": r.plan_version,
        "changes": r.changes,
        "may": {
            "accept": pending and may_decide(user, r) and (not own or user.is_superuser),
            "decline": pending and may_decide(user, r) and (not own or user.is_superuser),
            "withdraw": pending and own,
        },
    }


def visible_rows(user, plan: Plan, rows: list[dict]) -> list[dict]:
    """The difference rows of cells the user may see (as the grid shows them)."""
    if scope_of(user).can_everywhere(Action.VIEW):
        return rows
    people = {r["person_id"] for r in rows if r["person_id"] is not None}
    units = {r["unit_id"] for r in rows if r["unit_id"] is not None}
    cells = (
        TargetCell.objects.restrict(user)
        .filter(scenario__plan=plan, scenario__is_primary=True)
        .filter(Q(person_id__in=people) | Q(unit_id__in=units, person__isnull=True))
    )
    seen = {
        (unit_id if person_id is None else None, person_id, kind, start.isoformat(), product_id)
        for unit_id, person_id, kind, start, product_id in cells.values_list(
            "unit_id", "person_id", "period_kind", "period_start", "product_id"
        )
    }
    return [
        r
        for r in rows
        if (r["unit_id"], r["person_id"], r["period_kind"], r["period_start"], r["product_id"]) in seen
    ]


def cell_history(cell: TargetCell) -> list[dict]:
    """Every historical row of ``cell``, newest first, each with the levels before it (the row
    before's; none for the first): "before" and "after" of every change, not the after alone (QA)."""
    rows = list(cell.history.select_related("history_user").order_by("-history_date", "-history_id")[:501])
    out = []
    for h, older in zip(rows[:500], [*rows[1:], None], strict=False):
        out.append(
            {
                "at": h.history_date,
                "by": (h.history_user.get_full_name() or h.history_user.get_username())
                if h.history_user
                else _("command line"),
                "reason": h.history_change_reason or "",
                "kind": h.history_type,
                "target": h.target,
                "floor": h.floor,
                "stretch": h.stretch,
                "before": None
                if older is None
                else {k: getattr(older, k) for k in ("target", "floor", "stretch")},
            }
        )
    return out
