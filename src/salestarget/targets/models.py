"""Targets: a plan per fiscal year and metric, scenarios for what-if, and target cells.

A cell is (org node or person, period, product, region) with floor / target / stretch
levels in the metric's minor units. Published plans change only through change requests;
every change is kept by django-simple-history.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
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

    name = models.CharField(_("name"), max_length=100)
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    metric = models.ForeignKey("metrics.Metric", on_delete=models.PROTECT, verbose_name=_("metric"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PlanQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-fiscal_year", "name"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self):
        return f"{self.name} ({self.fiscal_year})"


class Scenario(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="scenarios", verbose_name=_("plan"))
    name = models.CharField(_("name"), max_length=100)
    is_primary = models.BooleanField(_("primary"), default=False)

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

    scenario = models.ForeignKey(
        Scenario, on_delete=models.CASCADE, related_name="cells", verbose_name=_("scenario")
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
    )
    floor = models.BigIntegerField(_("floor"), null=True, blank=True)
    target = models.BigIntegerField(_("target"))
    stretch = models.BigIntegerField(_("stretch"), null=True, blank=True)

    objects = TargetCellQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("target cell")
        verbose_name_plural = _("target cells")
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=False) | Q(person__isnull=False), name="target_cell_has_owner"
            ),
            models.UniqueConstraint(
                fields=["scenario", "unit", "person", "period_kind", "period_start", "product", "region"],
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
