"""Row scoping: the one answer to "which rows may this user see?".

Every view, API endpoint and export reads through ``Model.objects.visible_to(user)``
(NetBox's RestrictedQuerySet idea). Admins see everything; a manager sees the subtrees of
the units they manage today; a rep sees their own rows; anyone else sees nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import Q
from django.utils import timezone

NOTHING_PK = Q(pk__in=[])


@dataclass(frozen=True)
class Scope:
    user_id: int | None = None
    is_admin: bool = False
    person_id: int | None = None
    managed_paths: tuple[str, ...] = ()
    own_unit_ids: tuple[int, ...] = ()

    @property
    def role(self) -> str:
        if self.is_admin:
            return "admin"
        if self.managed_paths:
            return "manager"
        if self.person_id:
            return "rep"
        return "none"

    def unit_q(self, prefix: str) -> Q:
        """Units (reached through ``prefix``, e.g. "unit__") inside the subtrees this user manages."""
        if self.is_admin:
            return Q()
        q = Q(**{f"{prefix}pk__in": []})
        for path in self.managed_paths:
            q |= Q(**{f"{prefix}path__startswith": path})
        return q

    def own_units_q(self, field: str) -> Q:
        if self.is_admin:
            return Q()
        return Q(**{f"{field}__in": list(self.own_unit_ids)})

    def person_q(self, field: str) -> Q:
        """People (reached through ``field``, e.g. "person_id") this user may see the data of."""
        if self.is_admin:
            return Q()
        if self.managed_paths:
            from salestarget.org.models import Membership

            members = Membership.objects.filter(self.unit_q("unit__")).values("person_id")
            return Q(**{f"{field}__in": members}) | Q(**{field: self.person_id})
        if self.person_id:
            return Q(**{field: self.person_id})
        return Q(**{f"{field}__in": []})

    def can_see_person(self, person_id: int) -> bool:
        from salestarget.org.models import Person

        return Person.objects.visible_to_scope(self).filter(pk=person_id).exists()


def scope_of(user) -> Scope:
    """The user's scope, computed once per request (cached on the user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope()
    cached = getattr(user, "_salestarget_scope", None)
    if cached is not None:
        return cached
    from salestarget.org.models import Membership, Person, active_on

    if user.is_superuser:
        scope = Scope(user_id=user.pk, is_admin=True)
    else:
        person = Person.objects.filter(user=user).only("pk").first()
        if person is None:
            scope = Scope(user_id=user.pk)
        else:
            today = timezone.localdate()
            current = Membership.objects.filter(active_on(today), person=person).select_related("unit")
            managed = sorted({m.unit.path for m in current if m.role == Membership.Role.MANAGER})
            # Drop paths already inside another managed subtree: shorter OR-chains, same rows.
            roots = tuple(p for p in managed if not any(p != o and p.startswith(o) for o in managed))
            scope = Scope(
                user_id=user.pk,
                person_id=person.pk,
                managed_paths=roots,
                own_unit_ids=tuple(sorted({m.unit_id for m in current})),
            )
    user._salestarget_scope = scope
    return scope


class ScopedQuerySet(models.QuerySet):
    """A queryset that knows how to restrict itself to what a user may see."""

    def scope_filter(self, scope: Scope) -> Q:
        raise TypeError(f"{self.model.__name__} must define scope_filter()")

    def visible_to(self, user):
        return self.visible_to_scope(scope_of(user))

    def visible_to_scope(self, scope: Scope):
        if scope.is_admin:
            return self.all()
        if scope.role == "none":
            return self.none()
        return self.filter(self.scope_filter(scope))
