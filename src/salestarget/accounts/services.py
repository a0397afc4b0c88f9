"""Actions on users and their roles, called by the users-and-roles page (the Django admin is
for repairs). Managing users is a system setting: action ``configure``, administrators only.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from salestarget.org.models import OrgUnit, Person, RoleAssignment
from salestarget.org.permissions import Action, Role, scope_of


@dataclass(frozen=True)
class Roles:
    """The roles a user is given in the app (managers and reps follow the org tree)."""

    admin: bool = False
    ops: bool = False
    viewer: bool = False
    viewer_unit: OrgUnit | None = None  # None: the whole company


def _check_configure(actor) -> None:
    if actor is not None and not scope_of(actor).can_everywhere(Action.CONFIGURE):
        raise PermissionDenied(_("Only administrators may manage users and roles."))


def roles_of(user) -> Roles:
    assigned = {a.role: a for a in RoleAssignment.objects.filter(user=user).select_related("unit")}
    viewer = assigned.get(Role.VIEWER)
    return Roles(
        admin=user.is_superuser,
        ops=Role.OPS in assigned,
        viewer=viewer is not None,
        viewer_unit=viewer.unit if viewer else None,
    )


@transaction.atomic
def do_set_roles(actor, user, roles: Roles, *, active: bool, person: Person | None) -> None:
    """Give ``user`` exactly these roles, this sign-in state and this sales profile."""
    _check_configure(actor)
    if actor is not None and actor.pk == user.pk and not (roles.admin and active):
        raise ValidationError(
            _("You cannot remove your own administrator role or sign-in: ask another administrator.")
        )
    if person is not None and person.user_id not in (None, user.pk):
        raise ValidationError(
            _("%(person)s already signs in as %(user)s.") % {"person": person, "user": person.user}
        )
    user.is_superuser = user.is_staff = roles.admin
    user.is_active = active
    user.save(update_fields=["is_superuser", "is_staff", "is_active"])
    wanted = {Role.OPS: roles.ops, Role.VIEWER: roles.viewer}
    for role, on in wanted.items():
        if not on:
            RoleAssignment.objects.filter(user=user, role=role).delete()
            continue
        unit = roles.viewer_unit if role == Role.VIEWER else None
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, defaults={"unit": unit, "created_by": actor}
        )
        if not created and assignment.unit_id != (unit.pk if unit else None):
            assignment.unit = unit
            assignment.save(update_fields=["unit"])
    current = Person.objects.filter(user=user).first()
    if current is not None and current != person:
        current.user = None
        current.save(update_fields=["user"])
    if person is not None and person.user_id != user.pk:
        person.user = user
        person.save(update_fields=["user"])


@transaction.atomic
def do_create_user(actor, username: str, password: str, *, person: Person | None = None):
    """A new sign-in, optionally for a person of the organisation (who then is a rep or a
    manager by their memberships); roles are given afterwards with :func:`do_set_roles`."""
    _check_configure(actor)
    users = get_user_model()
    username = username.strip()
    if not username:
        raise ValidationError(_("A user name is required."))
    users.username_validator(
        username
    )  # letters (Chinese too), digits and @ . + - _: no emoji, quotes or spaces
    if users.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("The user name %(name)s is taken.") % {"name": username})
    user = users(username=username)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    if person is not None:
        if person.user_id is not None:
            raise ValidationError(
                _("%(person)s already signs in as %(user)s.") % {"person": person, "user": person.user}
            )
        person.user = user
        person.save(update_fields=["user"])
    return user


def do_unlock(actor, *, username: str | None = None, ip: str | None = None) -> int:
    """Lift a sign-in lockout (django-axes): the account's, or the address's, failed attempts
    are forgotten; returns how many records were cleared."""
    from axes.utils import reset

    _check_configure(actor)
    return reset(username=username) if username else reset(ip=ip)


def locked_out(user) -> bool:
    """Whether the account has failed sign-ins on record (it may be locked)."""
    from axes.models import AccessAttempt

    return AccessAttempt.objects.filter(username=user.get_username()).exists()


def do_set_password(actor, user, password: str) -> None:
    _check_configure(actor)
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
