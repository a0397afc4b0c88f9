"""The users-and-roles page: who may sign in, and with which roles (administrators only).
Thin: reads here, writes through ``accounts.services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from salestarget.accounts.forms import NewUserForm, PasswordForm, RolesForm
from salestarget.accounts.services import (
    Roles,
    do_create_user,
    do_set_password,
    do_set_roles,
    do_unlock,
    locked_out,
    roles_of,
)
from salestarget.org.models import Membership, Person, RoleAssignment, active_on
from salestarget.org.permissions import ROLE_LABELS, Action, Role, scope_of


def _configure(request) -> None:
    if not scope_of(request.user).can_everywhere(Action.CONFIGURE):
        raise PermissionDenied(_("Only administrators may manage users and roles."))


def _role_rows(users) -> list[dict]:
    """Each user with every role they hold and where, in a few queries for the whole list."""
    today = timezone.localdate()
    people = {p.user_id: p for p in Person.objects.filter(user__in=users)}
    assigned: dict[int, list[str]] = {}
    for a in RoleAssignment.objects.filter(user__in=users).select_related("unit"):
        where = f" · {a.unit.name}" if a.unit else ""
        assigned.setdefault(a.user_id, []).append(f"{ROLE_LABELS[Role(a.role)]}{where}")
    managed: dict[int, list[str]] = {}
    for m in Membership.objects.filter(
        active_on(today), role=Membership.Role.MANAGER, person__in=people.values()
    ).select_related("unit"):
        managed.setdefault(m.person_id, []).append(m.unit.name)
    rows = []
    for user in users:
        person = people.get(user.pk)
        labels = [str(ROLE_LABELS[Role.ADMIN])] if user.is_superuser else []
        labels += assigned.get(user.pk, [])
        if person is not None:
            units = managed.get(person.pk)
            labels.append(
                f"{ROLE_LABELS[Role.MANAGER]} · {'、'.join(units)}" if units else str(ROLE_LABELS[Role.REP])
            )
        rows.append({"user": user, "person": person, "roles": labels})
    return rows


@login_required
def users(request):
    _configure(request)
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = do_create_user(
                request.user,
                form.cleaned_data["username"],
                form.cleaned_data["password"],
                person=form.cleaned_data["person"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("User %(name)s created; now give them their roles.") % {"name": user})
            return redirect("accounts:user", pk=user.pk)
    rows = _role_rows(list(get_user_model().objects.order_by("-is_active", "username")))
    return render(request, "accounts/users.html", {"rows": rows, "form": form})


@login_required
def user_detail(request, pk: int):
    _configure(request)
    user = get_object_or_404(get_user_model(), pk=pk)
    current = roles_of(user)
    initial = {
        "active": user.is_active,
        "admin": current.admin,
        "ops": current.ops,
        "viewer": current.viewer,
        "viewer_unit": current.viewer_unit,
        "person": Person.objects.filter(user=user).first(),
    }
    form = RolesForm(request.POST if "roles" in request.POST else None, initial=initial, user=user)
    password = PasswordForm(request.POST if "password" in request.POST else None)
    if request.method == "POST" and "unlock" in request.POST:
        do_unlock(request.user, username=user.get_username())
        messages.success(request, _("%(name)s may sign in again.") % {"name": user})
        return redirect("accounts:user", pk=user.pk)
    if request.method == "POST":
        try:
            if form.is_bound and form.is_valid():
                data = form.cleaned_data
                roles = Roles(
                    admin=data["admin"],
                    ops=data["ops"],
                    viewer=data["viewer"],
                    viewer_unit=data["viewer_unit"],
                )
                do_set_roles(request.user, user, roles, active=data["active"], person=data["person"])
                messages.success(request, _("Roles of %(name)s saved.") % {"name": user})
                return redirect("accounts:user", pk=user.pk)
            if password.is_bound and password.is_valid():
                do_set_password(request.user, user, password.cleaned_data["password"])
                messages.success(request, _("The password of %(name)s was changed.") % {"name": user})
                return redirect("accounts:user", pk=user.pk)
        except ValidationError as exc:
            target = form if form.is_bound else password
            for message in exc.messages:
                target.add_error(None, message)
    context = {
        "subject": user,
        "row": _role_rows([user])[0],
        "form": form,
        "password_form": password,
        "locked_out": locked_out(user),
    }
    return render(request, "accounts/user.html", context)
