"""Permissions: the one answer to "may this user do this, and to which rows?".

Every page, API endpoint, export, background job and message reads and writes through
``Model.objects.restrict(user, action)`` (NetBox's RestrictedQuerySet idea). A user's roles
give each action a :class:`Reach` — everything, some subtrees of the organisation, their own
person, or nothing — and each model turns a reach into a filter over its rows
(``scope_filter``), using the date that matters for that model:

- facts and rollups by the unit they were booked to at their date, so a manager keeps the
  results a rep made in the team and sees nothing the rep sells after moving elsewhere;
- targets by their period, daily reports by their day;
- people, customers, memberships and territories by today.

Roles (docs/security.md): an administrator (a superuser) may do everything; sales
operations everything but the system settings (``configure``); a viewer (finance) may view
the company or a subtree; a manager (any depth of the tree, from today's memberships) may
view, change, submit, approve and import within the subtrees they manage; a rep may view and
submit their own. Sales operations and viewers are assigned in the app
(:class:`~salestarget.org.models.RoleAssignment`); managers and reps follow the org tree.

The mechanism lives in the org app because the organisation decides who sees what: the
apps that hold people's data all depend on org, and org depends on none of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salestarget.core.memo import remembered


class Action(StrEnum):
    VIEW = "view"
    CHANGE = "change"
    SUBMIT = "submit"
    APPROVE = "approve"
    IMPORT = "import"
    CONFIGURE = "configure"


class Role(StrEnum):
    ADMIN = "admin"
    OPS = "ops"
    MANAGER = "manager"
    VIEWER = "viewer"
    REP = "rep"


ROLE_LABELS = {
    Role.ADMIN: _("Administrator"),
    Role.OPS: _("Sales operations"),
    Role.MANAGER: _("Manager"),
    Role.VIEWER: _("Viewer"),
    Role.REP: _("Sales rep"),
}

# What each role may do. Company-wide roles reach everything (or a viewer's subtree);
# managers reach their subtrees; reps reach their own person.
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.OPS: frozenset(Action) - {Action.CONFIGURE},
    Role.MANAGER: frozenset({Action.VIEW, Action.CHANGE, Action.SUBMIT, Action.APPROVE, Action.IMPORT}),
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.REP: frozenset({Action.VIEW, Action.SUBMIT}),
}


@dataclass(frozen=True)
class Reach:
    """The rows one action may touch: everything, subtrees (materialised paths), the user's own
    person, and (to name a rep's team) the units the user belongs to today."""

    everything: bool = False
    paths: tuple[str, ...] = ()
    person_id: int | None = None
    own_unit_ids: tuple[int, ...] = ()
    user_id: int | None = None

    @property
    def nothing(self) -> bool:
        return not (self.everything or self.paths or self.person_id)

    def units_q(self, prefix: str = "") -> Q:
        """Units (reached through ``prefix``, e.g. "unit__") inside the subtrees."""
        if self.everything:
            return Q()
        q = Q(**{f"{prefix}pk__in": []})
        for path in self.paths:
            q |= Q(**{f"{prefix}path__startswith": path})
        return q

    def unit_ids(self):
        """A subquery of the ids of the units inside the subtrees."""
        from salestarget.org.models import OrgUnit

        return OrgUnit.objects.filter(self.units_q("")).values("pk")

    def own_q(self, field: str) -> Q:
        return Q(**{field: self.person_id}) if self.person_id else Q(**{f"{field}__in": []})

    def people_q(self, field: str, *, on: str | dt.date | None = None, until: str | None = None) -> Q:
        """People (reached through ``field``, e.g. "person_id") in the subtrees, or the user.

        ``on``: the date that matters — today (None), a date, or the name of the row's own date
        column; with ``until`` (another column) the row covers a period, and a membership on
        any day of it counts."""
        if self.everything:
            return Q()
        own = self.own_q(field)
        if not self.paths:
            return own
        from salestarget.org.models import Membership

        start = on if on is not None else timezone.localdate()
        end = until or start
        start_ref = OuterRef(start) if isinstance(start, str) else start
        end_ref = OuterRef(end) if isinstance(end, str) else end
        members = Membership.objects.filter(
            self.units_q("unit__"),
            person_id=OuterRef(field),
            valid_from__lte=end_ref,
        ).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start_ref))
        return own | Q(Exists(members))


NOBODY = Reach()
EVERYTHING = Reach(everything=True)


@dataclass(frozen=True)
class Scope:
    """What one user may do, action by action (computed once per request)."""

    user_id: int | None = None
    person_id: int | None = None
    roles: frozenset[Role] = frozenset()
    reaches: dict[Action, Reach] = field(default_factory=dict, compare=False)

    def reach(self, action: Action | str) -> Reach:
        return self.reaches.get(Action(action), NOBODY)

    def can(self, action: Action | str) -> bool:
        """Whether the user may do ``action`` to anything at all."""
        return not self.reach(action).nothing

    def can_everywhere(self, action: Action | str) -> bool:
        return self.reach(action).everything

    @property
    def role(self) -> str:
        """The user's main role, for labels: the widest they hold."""
        for role in (Role.ADMIN, Role.OPS, Role.MANAGER, Role.VIEWER, Role.REP):
            if role in self.roles:
                return role.value
        return "none"


NO_SCOPE = Scope()


def _roots(paths) -> tuple[str, ...]:
    """Drop paths inside another one: shorter OR-chains, same rows."""
    paths = sorted(set(paths))
    return tuple(p for p in paths if not any(p != o and p.startswith(o) for o in paths))


def scope_of(user) -> Scope:
    """The user's scope today, computed once per request (cached on the user object)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_salestarget_scope", None)
    if cached is None:
        cached = user._salestarget_scope = build_scope(user, timezone.localdate())
    return cached


@remembered  # read on every page (the navigation shows what the role may do); kept until a write
def build_scope(user, today: dt.date) -> Scope:
    from salestarget.org.models import Membership, Person, RoleAssignment, active_on

    roles: set[Role] = set()
    if user.is_superuser:
        roles.add(Role.ADMIN)
    viewer_paths: list[str] = []
    for assigned in RoleAssignment.objects.filter(user=user).select_related("unit"):
        roles.add(Role(assigned.role))
        if assigned.role == Role.VIEWER:
            viewer_paths.append(assigned.unit.path if assigned.unit else "")
    person = Person.objects.filter(user=user).only("pk").first()
    person_id = person.pk if person else None
    managed, own_units = [], []
    if person is not None:
        roles.add(Role.REP)
        current = Membership.objects.filter(active_on(today), person=person).select_related("unit")
        for m in current:
            own_units.append(m.unit_id)
            if m.role == Membership.Role.MANAGER:
                managed.append(m.unit.path)
        if managed:
            roles.add(Role.MANAGER)
    own_units_t = tuple(sorted(set(own_units)))
    reaches: dict[Action, Reach] = {}
    for action in Action:
        if any(action in ROLE_ACTIONS[r] for r in roles & {Role.ADMIN, Role.OPS}):
            reaches[action] = EVERYTHING
            continue
        paths = list(managed) if action in ROLE_ACTIONS[Role.MANAGER] else []
        if action in ROLE_ACTIONS[Role.VIEWER] and Role.VIEWER in roles:
            if "" in viewer_paths:  # a company-wide viewer
                reaches[action] = EVERYTHING
                continue
            paths += viewer_paths
        # A rep acts on their own rows; a manager also on their own (their own results, say).
        acts_on_own = action in ROLE_ACTIONS[Role.REP] or (managed and action in ROLE_ACTIONS[Role.MANAGER])
        own = person_id if person_id and acts_on_own else None
        reaches[action] = Reach(paths=_roots(paths), person_id=own, own_unit_ids=own_units_t, user_id=user.pk)
    return Scope(user_id=user.pk, person_id=person_id, roles=frozenset(roles), reaches=reaches)


class RestrictedQuerySet(models.QuerySet):
    """A queryset that restricts itself to the rows a user may act on.

    ``shared`` models (products, regions, metrics, plans) are reference data: anyone who may
    view anything may view them all, and only a company-wide reach may act on them otherwise.
    """

    shared = False

    def scope_filter(self, reach: Reach) -> Q:
        raise TypeError(f"{self.model.__name__} must define scope_filter()")

    def restrict(self, user, action: Action | str = Action.VIEW):
        return self.within(scope_of(user).reach(action), action)

    def within(self, reach: Reach, action: Action | str = Action.VIEW):
        if reach.everything:
            return self.all()
        if reach.nothing or (self.shared and action != Action.VIEW):
            return self.none()
        if self.shared:
            return self.all()
        return self.filter(self.scope_filter(reach))


class SharedQuerySet(RestrictedQuerySet):
    shared = True
