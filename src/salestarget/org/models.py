"""Organisation: the unit tree, people, and effective-dated memberships and territories.

Memberships and territory assignments carry validity dates because sales history must stay
with the team a rep was in when the sale happened, not the team they are in today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from salestarget.core.tree import TreeNode, TreeQuerySet
from salestarget.org.permissions import RestrictedQuerySet, Role


def active_on(day: dt.date, prefix: str = "") -> Q:
    """Rows whose [valid_from, valid_to] (inclusive, open-ended when null) contains ``day``."""
    return Q(**{f"{prefix}valid_from__lte": day}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": day})
    )


class OrgUnitQuerySet(TreeQuerySet, RestrictedQuerySet):
    def scope_filter(self, reach):
        # Reps see the unit they belong to today (to name their team), managers their subtrees.
        return reach.units_q("") | Q(pk__in=list(reach.own_unit_ids))


class OrgUnit(TreeNode):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        REGION = "region", _("Sales region")
        DEPARTMENT = "department", _("Department")
        TEAM = "team", _("Team")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TEAM)
    active = models.BooleanField(_("active"), default=True)

    objects = OrgUnitQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["path"]
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")

    def __str__(self):
        return self.name


class PersonQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # By today: a rep who moved to another team is that team's now.
        return reach.people_q("pk")


class Person(models.Model):
    class Tier(models.TextChoices):
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"
        D = "D", "D"

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ON_LEAVE = "on_leave", _("On leave")
        LEFT = "left", _("Left")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, default=Tier.B)
    hire_date = models.DateField(_("hire date"))
    leave_date = models.DateField(_("leave date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    email = models.EmailField(_("email"), blank=True)
    # Other keys files name people by; unique when given. The national id is sensitive: it is
    # accepted as a key on import, never shown (nor kept in the record's history).
    employee_no = models.CharField(_("employee number"), max_length=32, blank=True)
    national_id = models.CharField(_("national id"), max_length=32, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
        verbose_name=_("login user"),
    )

    objects = PersonQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["national_id"])

    class Meta:
        ordering = ["code"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(
                fields=["employee_no"], condition=~Q(employee_no=""), name="person_employee_no_unique"
            ),
            models.UniqueConstraint(
                fields=["national_id"], condition=~Q(national_id=""), name="person_national_id_unique"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def unit_on(self, day: dt.date | None = None) -> OrgUnit | None:
        """The unit this person's results count for on ``day`` (today when not given)."""
        day = day or timezone.localdate()
        unit_id = UnitAtDate([self.pk])(self.pk, day.isoformat())
        return None if unit_id is None else OrgUnit.objects.get(pk=unit_id)


class MembershipQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # A unit's own history (who was in it when), and the user's own memberships; never
        # where a rep went after leaving the subtree.
        return reach.units_q("unit__") | reach.own_q("person_id")

    def active_on(self, day: dt.date):
        return self.filter(active_on(day))


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        MANAGER = "manager", _("Manager")

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("person")
    )
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("unit")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("Inclusive; empty means open-ended.")
    )

    objects = MembershipQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["person", "valid_from"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        indexes = [models.Index(fields=["unit", "role", "valid_from"])]

    def __str__(self):
        return f"{self.person} @ {self.unit} ({self.get_role_display()})"

    def clean(self):
        super().clean()
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end date is before the start date.")})
        if not (self.person_id and self.valid_from):
            return
        # A person belongs to one team at a time; a manager may lead several units, but not
        # the same unit twice over the same days.
        clash = Membership.objects.filter(person_id=self.person_id, role=self.role).exclude(pk=self.pk)
        if self.role == self.Role.MANAGER:
            clash = clash.filter(unit_id=self.unit_id)
        clash = overlapping(clash, self.valid_from, self.valid_to).first()
        if clash:
            raise ValidationError(
                _("This membership overlaps %(other)s (%(start)s to %(end)s).")
                % {"other": clash, "start": clash.valid_from, "end": clash.valid_to or _("open")}
            )


class UnitAtDate:
    """The unit a person's results count for on a day, from the effective-dated memberships:
    the unit they are a member of, else one they manage, so that a player-coach's own sales
    count for the team they play in. Among rows of the same role the earliest start wins (then
    the earliest end, then the lower unit id), so the answer never depends on the order the
    database returns rows in.

    The one statement of the rule (``Person.unit_on`` and the fact import ask it; the rollups'
    re-booking uses :meth:`sql`, the same rule in SQL). Built once, for everyone or for ``people``, and asked by
    ISO date text: an import asks for each of a million rows, so the many people with a single
    membership are answered by a comparison and the others from a cache."""

    def __init__(self, people: Iterable[int] | None = None):
        rows = Membership.objects.values_list("person_id", "unit_id", "role", "valid_from", "valid_to")
        if people is not None:
            rows = rows.filter(person_id__in=list(people))
        spans: dict[int, list[tuple[int, str, str, int]]] = {}
        for person_id, unit_id, role, start, end in rows:
            rank = 0 if role == Membership.Role.MEMBER else 1
            spans.setdefault(person_id, []).append(
                (rank, start.isoformat(), end.isoformat() if end else "9999-12-31", unit_id)
            )
        for person_spans in spans.values():
            person_spans.sort()
        self.spans = spans
        self.single = {pid: only[0][1:] for pid, only in spans.items() if len(only) == 1}
        self.cache: dict[tuple[int | None, str], int | None] = {}

    def __call__(self, person_id: int | None, iso: str) -> int | None:
        one = self.single.get(person_id)
        if one is not None:
            return one[2] if one[0] <= iso <= one[1] else None
        key = (person_id, iso)
        try:
            return self.cache[key]
        except KeyError:
            pass
        unit = None
        for _rank, start, end, unit_id in self.spans.get(person_id, ()):
            if start <= iso <= end:
                unit = unit_id
                break
        self.cache[key] = unit
        return unit

    @staticmethod
    def sql(table: str, person: str = "person_id", date: str = "date") -> str:
        """The same rule as a correlated subquery, for set-based re-booking of ``table``'s rows
        by their ``person`` and ``date`` columns (tests/org/test_unit_at_date.py holds the two
        to each other)."""
        m = Membership._meta.db_table
        return (
            f"(SELECT m.unit_id FROM {m} m WHERE m.person_id = {table}.{person} "
            f"AND m.valid_from <= {table}.{date} AND (m.valid_to IS NULL OR m.valid_to >= {table}.{date}) "
            f"ORDER BY CASE WHEN m.role = '{Membership.Role.MEMBER}' THEN 0 ELSE 1 END, m.valid_from, "
            f"COALESCE(m.valid_to, '9999-12-31'), m.unit_id LIMIT 1)"
        )


def overlapping(qs, start: dt.date, end: dt.date | None):
    """Rows of an effective-dated queryset that share at least one day with [start, end]."""
    qs = qs.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
    return qs.filter(valid_from__lte=end) if end else qs


class TerritoryQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        return reach.people_q("person_id")


class TerritoryAssignment(models.Model):
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="territories", verbose_name=_("person")
    )
    region = models.ForeignKey(
        "catalog.Region", on_delete=models.PROTECT, related_name="assignments", verbose_name=_("region")
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("Inclusive; empty means open-ended.")
    )

    objects = TerritoryQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["person", "valid_from"]
        verbose_name = _("territory assignment")
        verbose_name_plural = _("territory assignments")

    def __str__(self):
        return f"{self.person} → {self.region}"

    def clean(self):
        super().clean()
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end date is before the start date.")})
        if self.person_id and self.region_id and self.valid_from:
            same = TerritoryAssignment.objects.filter(person_id=self.person_id, region_id=self.region_id)
            clash = overlapping(same.exclude(pk=self.pk), self.valid_from, self.valid_to).first()
            if clash:
                raise ValidationError(_("This person is already assigned to this region over these dates."))


class RoleAssignment(models.Model):
    """A role given in the app: sales operations, or viewer (of the company, or of one unit's
    subtree). Administrators are Django superusers; managers and reps follow the tree."""

    ASSIGNABLE = (Role.OPS, Role.VIEWER)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles", verbose_name=_("user")
    )
    role = models.CharField(
        _("role"),
        max_length=16,
        choices=[(r.value, r.value) for r in ASSIGNABLE],
    )
    unit = models.ForeignKey(
        OrgUnit,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("unit"),
        help_text=_("Viewers only: the subtree they may see; empty means the whole company."),
    )
    created_at = models.DateTimeField(_("assigned at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assigned by"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["user", "role"]
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="one_role_of_a_kind_per_user")]

    def __str__(self):
        return f"{self.user} {self.role}{f' @ {self.unit}' if self.unit_id else ''}"
