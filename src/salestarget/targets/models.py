"""Targets: a plan per fiscal year and metric, scenarios for what-if, and target cells.

A cell is (org node or person, period, product, region) with floor / target / stretch
levels in the metric's minor units. Published plans change only through change requests;
every change is kept by django-simple-history.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from salestarget.org.permissions import RestrictedQuerySet, SharedQuerySet


class PlanQuerySet(SharedQuerySet):
    """Everyone working on a plan may see that it exists; the cells carry the numbers."""


class Plan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")
        CLOSED = "closed", _("Closed")

    class PeriodKind(models.TextChoices):
        YEAR = "year", _("Fiscal year")
        HALF = "half", _("Half year")
        QUARTER = "quarter", _("Quarter")

    class TotalMethod(models.TextChoices):
        TYPED = "typed", _("Typed")
        RECOMMENDATION = "recommendation", _("Recommendation at a chosen chance")
        NAIVE = "naive", _("Last year × (1 + growth), the naive method")

    # A plan in force is what tracking compares results with: at most one per metric and period.
    IN_FORCE = (Status.APPROVED, Status.PUBLISHED)

    name = models.CharField(_("name"), max_length=100)
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    period_kind = models.CharField(
        _("period"), max_length=8, choices=PeriodKind.choices, default=PeriodKind.YEAR
    )
    period_start = models.DateField(_("period start"))
    metric = models.ForeignKey("metrics.Metric", on_delete=models.PROTECT, verbose_name=_("metric"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    # The organisation is always a dimension; these are optional.
    by_product = models.BooleanField(_("by product line"), default=False)
    by_region = models.BooleanField(_("by sales region"), default=False)
    by_segment = models.BooleanField(_("by customer segment"), default=False)
    # Floor and stretch as factors of the target (e.g. 0.9 and 1.2), or empty when they are set
    # independently, cell by cell.
    floor_factor = models.DecimalField(
        _("floor factor"), max_digits=6, decimal_places=4, null=True, blank=True
    )
    stretch_factor = models.DecimalField(
        _("stretch factor"), max_digits=6, decimal_places=4, null=True, blank=True
    )
    # How the company total was set (the SMART panel and the explanation say it).
    total_method = models.CharField(_("total set by"), max_length=16, choices=TotalMethod.choices, blank=True)
    total_chance = models.PositiveSmallIntegerField(_("chance adopted (%)"), null=True, blank=True)
    total_growth_bp = models.IntegerField(_("growth over last year (basis points)"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # 1 as published; each accepted change request makes the next version (targets.changes).
    version = models.PositiveIntegerField(_("version"), default=1)
    # A draft restored from an earlier version of another plan names it.
    restored_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("restored from"),
    )
    # Tracking (tracking.progress): the status of a target from its pace, actual against what
    # the plan expected by the date, in percent: below the warning line (预警线) at risk, below
    # the lagging line lagging, above the ahead line ahead; the incentive line (激励线) marks an
    # achievement of the whole target worth rewarding.
    warning_line_pct = models.PositiveSmallIntegerField(_("warning line (%)"), default=60)
    lagging_below_pct = models.PositiveSmallIntegerField(_("lagging below (%)"), default=80)
    ahead_above_pct = models.PositiveSmallIntegerField(_("ahead above (%)"), default=120)
    incentive_line_pct = models.PositiveSmallIntegerField(_("incentive line (%)"), null=True, blank=True)

    class Ranking(models.TextChoices):
        MANAGERS = "managers", _("Managers only")
        EVERYONE = "everyone", _("Everyone")

    # Who sees the leaderboard (排行榜): managers (their own people), or everyone (all reps ranked).
    ranking = models.CharField(
        _("leaderboard shown to"), max_length=16, choices=Ranking.choices, default=Ranking.MANAGERS
    )

    objects = PlanQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-fiscal_year", "name"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "period_kind", "period_start"],
                condition=Q(status__in=["approved", "published"]),
                name="one_plan_in_force",
            ),
            models.CheckConstraint(
                condition=Q(floor_factor__isnull=True) | Q(floor_factor__gt=0, floor_factor__lte=1),
                name="plan_floor_factor_range",
            ),
            models.CheckConstraint(
                condition=Q(stretch_factor__isnull=True) | Q(stretch_factor__gte=1, stretch_factor__lte=10),
                name="plan_stretch_factor_range",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.fiscal_year})"

    def save(self, *args, **kwargs):
        # A plan given only its fiscal year covers that whole year of the company's calendar.
        if self.period_start is None:
            from salestarget.metrics.selectors import fiscal_calendar

            self.period_kind = self.PeriodKind.YEAR
            self.period_start = fiscal_calendar().year(self.fiscal_year).start
        super().save(*args, **kwargs)

    @property
    def period_end(self) -> dt.date:
        return period_end(self.period_kind, self.period_start)

    @property
    def total_cell(self) -> Q:
        """Which cell of a scenario is the plan's total: the company's (the top unit's) for the
        plan's period, without product, region or segment. Filter a scenario's cells with it."""
        return Q(
            unit__parent__isnull=True,
            person__isnull=True,
            period_kind=self.period_kind,
            period_start=self.period_start,
            product__isnull=True,
            region__isnull=True,
            segment__isnull=True,
        )


class PlanLevel(models.Model):
    """What a plan declares for one depth of the organisation (0 = the company): the rounding unit
    of its targets (万元 for regions, 元 for reps) and its over-assignment (超额分配: children's
    targets add up to more than the parent's, e.g. 5%, declared and shown)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="levels", verbose_name=_("plan"))
    depth = models.PositiveSmallIntegerField(_("depth"))
    rounding_unit = models.BigIntegerField(
        _("rounding unit"), default=1, help_text=_("In the metric's minor units: 1000000 is 1万元 for money.")
    )
    over_assignment_bp = models.PositiveIntegerField(
        _("over-assignment (basis points)"), default=0, help_text=_("500 means the children add up to 105%.")
    )

    objects = PlanQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "depth"]
        verbose_name = _("plan level")
        verbose_name_plural = _("plan levels")
        constraints = [
            models.UniqueConstraint(fields=["plan", "depth"], name="plan_level_once"),
            models.CheckConstraint(condition=Q(rounding_unit__gte=1), name="plan_level_rounding_positive"),
            models.CheckConstraint(
                condition=Q(over_assignment_bp__lte=10000), name="plan_level_over_at_most_100"
            ),
        ]

    def __str__(self):
        return f"{self.plan} / {self.depth}"


class Scenario(models.Model):
    """One decomposition of a plan (方案). The primary scenario is the plan; the others are
    what-ifs compared with it until one is promoted. ``rules`` are the wizard's choices per
    level (``targets.decomposition.Rules``), kept so a re-run starts from them."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="scenarios", verbose_name=_("plan"))
    name = models.CharField(_("name"), max_length=100)
    is_primary = models.BooleanField(_("primary"), default=False)
    rules = models.JSONField(_("decomposition rules"), default=dict, blank=True)
    decomposed_at = models.DateTimeField(_("decomposed at"), null=True, blank=True)
    job_id = models.CharField(_("job"), max_length=64, blank=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "-is_primary", "name"]
        verbose_name = _("scenario")
        verbose_name_plural = _("scenarios")
        constraints = [
            models.UniqueConstraint(
                fields=["plan"], condition=Q(is_primary=True), name="one_primary_scenario_per_plan"
            )
        ]

    def __str__(self):
        return f"{self.plan} / {self.name}"


class TargetCellQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # By the period: a rep's target is their manager's when the rep was in the team on
        # any day of it.
        return reach.units_q("unit__") | reach.people_q("person_id", on="period_start", until="period_end")


class TargetCell(models.Model):
    class PeriodKind(models.TextChoices):
        YEAR = "year", _("Year")
        HALF = "half", _("Half year")
        QUARTER = "quarter", _("Quarter")
        MONTH = "month", _("Month")
        WEEK = "week", _("Week")

    # No index of its own on scenario, region or segment: the cell key and the (scenario,
    # period) index lead with the scenario, and every index costs a decomposition's hundreds of
    # thousands of inserts (bench/plan_decompose.py); regions and segments are rarely deleted.
    scenario = models.ForeignKey(
        Scenario, on_delete=models.CASCADE, related_name="cells", verbose_name=_("scenario"), db_index=False
    )
    unit = models.ForeignKey(
        "org.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("unit"),
    )
    person = models.ForeignKey(
        "org.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("person"),
    )
    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    # Stored so that "was the rep in this team during the period?" is one indexed comparison.
    period_end = models.DateField(_("period end"), editable=False)
    product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("product"),
    )
    region = models.ForeignKey(
        "catalog.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("region"),
        db_index=False,
    )
    segment = models.ForeignKey(
        "catalog.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("customer segment"),
        db_index=False,
    )

    class Source(models.TextChoices):
        SPLIT = "split", _("Decomposed")
        MANUAL = "manual", _("Set by hand")
        IMPORT = "import", _("Imported")

    floor = models.BigIntegerField(_("floor"), null=True, blank=True)
    target = models.BigIntegerField(_("target"))
    stretch = models.BigIntegerField(_("stretch"), null=True, blank=True)
    # A re-run of the decomposition keeps locked cells and cells set by hand.
    locked = models.BooleanField(_("locked"), default=False)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.MANUAL)
    # Optimistic locking: a write names the version it read; a stale one is refused, not merged.
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = TargetCellQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("target cell")
        verbose_name_plural = _("target cells")
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=False) | Q(person__isnull=False), name="target_cell_has_owner"
            ),
            # On the ids with 0 for "none": a unique key over nullable columns never fires (NULLs
            # are distinct on SQLite and PostgreSQL alike), so two identical cells could be stored.
            models.UniqueConstraint(
                "scenario",
                Coalesce("unit", Value(0)),
                Coalesce("person", Value(0)),
                "period_kind",
                "period_start",
                Coalesce("product", Value(0)),
                Coalesce("region", Value(0)),
                Coalesce("segment", Value(0)),
                name="target_cell_key",
            ),
        ]
        indexes = [models.Index(fields=["scenario", "period_kind", "period_start"])]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.period_start and self.period_kind and not self.period_end:
            self.period_end = period_end(self.period_kind, self.period_start)

    def __str__(self):
        return f"{self.unit or self.person} {self.period_kind} {self.period_start}: {self.target}"


class Split(models.Model):
    """How one parent value of a scenario was split (the engine's ``Explanation``), so "why is
    my target this number?" reads the chain from the company total down without recomputing.

    ``axis`` is the organisation (a unit's year value over its sub-units and people), time (the
    company's year over months, and months over weeks) or product lines; ``parent`` and
    ``keys`` name nodes as ``u<id>``/``p<id>`` (``targets.decomposition.node_key``)."""

    class Axis(models.TextChoices):
        ORG = "org", _("Organisation")
        TIME = "time", _("Months")
        WEEK = "week", _("Weeks")
        PRODUCT = "product", _("Product lines")

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="splits")
    axis = models.CharField(max_length=8, choices=Axis.choices)
    parent = models.CharField(max_length=24)
    keys = models.JSONField(default=list)
    explanation = models.JSONField(default=dict)

    objects = PlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("split")
        verbose_name_plural = _("splits")
        constraints = [models.UniqueConstraint(fields=["scenario", "axis", "parent"], name="split_once")]

    def __str__(self):
        return f"{self.scenario} {self.axis} {self.parent}"


class ReviewQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        return reach.units_q("unit__")


class Review(models.Model):
    """Where one unit's part of a plan stands on its way up (a region's plan is submitted by
    its manager and approved by the one above). The company's part is the plan itself
    (``Plan.status``). A unit with no row has not been submitted. ``version`` changes with
    every decision, so two approvers acting at once cannot both win (``targets.workflow``)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="reviews", verbose_name=_("plan"))
    unit = models.ForeignKey("org.OrgUnit", on_delete=models.CASCADE, verbose_name=_("unit"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=0)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [models.UniqueConstraint(fields=["plan", "unit"], name="one_review_per_unit")]

    def __str__(self):
        return f"{self.plan} / {self.unit}: {self.status}"


class PlanEventQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # The plan's own steps are everyone's; a unit's, those who reach the unit and its members.
        return Q(unit__isnull=True) | reach.units_q("unit__") | Q(unit_id__in=list(reach.own_unit_ids))


class PlanEvent(models.Model):
    """The plan's workflow, step by step: who did what, when, why, to which unit's part, and
    the status before and after. Never edited; the history page reads it."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Submitted")
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Sent back")
        PUBLISH = "publish", _("Published")
        CLOSE = "close", _("Closed")
        REQUEST = "request", _("Change requested")
        ACCEPT = "accept", _("Change accepted")
        DECLINE = "decline", _("Change declined")
        WITHDRAW = "withdraw", _("Change withdrawn")
        RESTORE = "restore", _("Restored as a new draft")
        COMMIT = "commit", _("Committed")
        RECONCILE = "reconcile", _("Reconciled")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="events", verbose_name=_("plan"))
    unit = models.ForeignKey(
        "org.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("unit")
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("by")
    )
    comment = models.TextField(_("comment"), blank=True)
    status_before = models.CharField(max_length=16)
    status_after = models.CharField(max_length=16)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    objects = PlanEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("plan event")
        verbose_name_plural = _("plan events")

    def __str__(self):
        return f"{self.plan} {self.action} {self.at:%Y-%m-%d %H:%M}"


class CommitmentQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # As the node's target: a unit's by the subtree, a person's by the person.
        return (
            reach.units_q("unit__")
            | reach.own_q("person_id")
            | (Q(person__isnull=False) & reach.people_q("person_id"))
        )


class Commitment(models.Model):
    """A team's or a rep's own figure for their node over the plan's period (团队共创, bottom-up),
    beside the top-down target, and how the director reconciled the two. One per node and plan;
    committing again replaces the figure until it is reconciled."""

    class Decision(models.TextChoices):
        KEEP = "keep", _("Kept the top-down target")
        ACCEPT = "accept", _("Accepted the commitment")
        SPLIT = "split", _("Split the difference")

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="commitments", verbose_name=_("plan")
    )
    unit = models.ForeignKey(
        "org.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("unit"),
    )
    person = models.ForeignKey(
        "org.Person",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("person"),
    )
    amount = models.BigIntegerField(_("commitment"))
    note = models.TextField(_("note"), blank=True)
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    committed_at = models.DateTimeField(_("committed at"), auto_now=True)
    # The top-down target when the commitment was made, and the reconciliation.
    top_down = models.BigIntegerField(_("top-down target"), null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    result = models.BigIntegerField(_("reconciled target"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    objects = CommitmentQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        constraints = [
            models.CheckConstraint(
                condition=(Q(unit__isnull=False) & Q(person__isnull=True))
                | (Q(unit__isnull=True) & Q(person__isnull=False)),
                name="commitment_has_one_owner",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="commitment_not_negative"),
            models.UniqueConstraint(
                "plan",
                Coalesce("unit", Value(0)),
                Coalesce("person", Value(0)),
                name="one_commitment_per_node",
            ),
        ]

    def __str__(self):
        return f"{self.plan} / {self.unit or self.person}: {self.amount}"


class ChangeRequestQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # Those who reach the unit the change is about, and whoever asked.
        return reach.units_q("unit__") | Q(requested_by_id=reach.user_id)


class ChangeRequest(models.Model):
    """A change to a plan in force (published): who asks, why, and each cell's before and after.
    Nothing is applied until someone above the unit accepts it; accepting makes the plan's next
    version. ``changes`` holds the grid's edits (``targets.grid.CellChange``) with the value each
    cell had when asked (``before``) and the version read, so a cell changed meanwhile is noticed,
    not overwritten."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="change_requests", verbose_name=_("plan")
    )
    # The lowest unit that holds every changed cell: who may decide is someone above it.
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    kind = models.CharField(_("kind"), max_length=16, default="edit")
    reason = models.TextField(_("reason"))
    changes = models.JSONField(_("changes"), default=list)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision = models.TextField(_("decision comment"), blank=True)
    # The plan's version this request made when accepted.
    plan_version = models.PositiveIntegerField(_("plan version"), null=True, blank=True)

    objects = ChangeRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "plan_version"],
                condition=Q(plan_version__isnull=False),
                name="one_request_per_version",
            )
        ]

    def __str__(self):
        return f"#{self.pk} {self.plan}: {self.status}"


PERIOD_MONTHS = {"year": 12, "half": 6, "quarter": 3, "month": 1}


def period_end(kind: str, start: dt.date) -> dt.date:
    """The last day of the period of ``kind`` that starts on ``start`` (weeks are 7 days)."""
    if kind == TargetCell.PeriodKind.WEEK:
        return start + dt.timedelta(days=6)
    index = start.year * 12 + start.month - 1 + PERIOD_MONTHS[kind]
    return dt.date(index // 12, index % 12 + 1, start.day) - dt.timedelta(days=1)


class StoredForecast(models.Model):
    """The costly part of a recommendation (the scope's history and its fitted forecasts,
    ``recommendations.Basis``), kept so that a page shows it at once (``targets.stored``).

    ``key`` hashes everything it depends on besides the facts: the rows the user may see, the
    scope, metric and period, the calendar. It is valid while ``data_version`` matches the
    facts' and its history ends where today's would (``history_end``).
    """

    key = models.CharField(_("key"), max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("computed for")
    )
    inputs = models.JSONField(_("inputs"))
    history_end = models.DateField(_("history ends"))
    data_version = models.CharField(_("data version"), max_length=100)
    basis = models.JSONField(_("forecasts"))
    computed_at = models.DateTimeField(_("computed at"))
    used_at = models.DateTimeField(_("last used"))

    class Meta:
        verbose_name = _("stored forecast")
        verbose_name_plural = _("stored forecasts")

    def __str__(self):
        return f"{self.key[:12]} {self.data_version}"
