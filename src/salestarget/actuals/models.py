"""Actual results: immutable fact rows, the import batches that brought them, and rollups.

Facts are never edited: a correction is a new row or a re-import that replaces a batch.
Rollups (day x kind x stage x person x unit x product x region) are maintained on every
write so that dashboards read a few thousand rollup rows instead of millions of facts.

Facts are written in bulk (a million-row import must run at >= 100,000 rows/s) and read
back only by batch, by idempotency key, by kind and date, by person and date and by unit;
every other question goes to the rollups. So the fact table carries exactly those indexes:
the single-column indexes Django adds to foreign keys by default would cost a third of the
import rate and serve no query (deleting a product or customer is rare and may scan).

For the same reason, as usual for fact tables, the database does not enforce the fact's
foreign keys: PostgreSQL checks them row by row at commit, which doubled the time of a
bulk load (SQLite: +40%). Integrity holds without them: facts are written only by the
import pipeline, which resolves every id inside its own transaction; master data is
deactivated, never deleted, and Django still applies PROTECT/CASCADE on ORM deletes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salestarget.metrics.models import FactKind
from salestarget.org.permissions import RestrictedQuerySet


class ImportBatchQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # Batches are whole files: only company-wide roles see everyone's; others their own.
        return Q(created_by_id=reach.user_id)


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        REJECTED = "rejected", _("Rejected")
        ROLLED_BACK = "rolled_back", _("Rolled back")

    kind = models.CharField(_("kind"), max_length=32)
    source = models.CharField(_("source"), max_length=64)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("imported by"),
    )
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    rows_skipped = models.PositiveIntegerField(_("rows already imported"), default=0)
    amount_total = models.BigIntegerField(_("total amount (fen)"), default=0)
    # The largest of its facts' sums of absolute amounts, quantities and profits: the applied
    # batches' magnitudes bound every total a page can ask for (see rollups.add_batch).
    magnitude = models.BigIntegerField(default=0, editable=False)
    error_count = models.PositiveIntegerField(_("errors found"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    # What an applied import wrote but will count nowhere (facts dated before their person's
    # team, regions nobody covered): stored untranslated like the errors.
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    options = models.JSONField(_("import options"), default=dict, blank=True)
    rolled_back_at = models.DateTimeField(_("rolled back at"), null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("rolled back by"),
    )

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self):
        return f"#{self.pk} {self.kind} {self.filename}"


class FactSource(models.Model):
    """Whose keys a source holds. A fact's idempotency key is (source, external id), so whoever
    may write a source decides which rows a later import skips as "already imported": a source
    therefore belongs to one writer — the company (administrators, sales operations, the
    command line), one manager, or one integration's API token — and nobody else may write it.
    The app's own sources (the daily report, the demo) are written only by the app."""

    name = models.CharField(_("source"), max_length=64, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
        help_text=_("Empty: the company's (administrators, sales operations, the command line)."),
    )
    token = models.OneToOneField(
        "accounts.ApiToken",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source",
        verbose_name=_("API token"),
        help_text=_("An integration's source: only requests with this token may write it."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("fact source")
        verbose_name_plural = _("fact sources")

    def __str__(self):
        return self.name


class MasterChange(models.Model):
    """One record a master-data batch created or changed, with its values before and after,
    so that the batch can be rolled back (see actuals/journal.py)."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="master_changes")
    model = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    created = models.BooleanField()
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.model} #{self.object_id} ({'created' if self.created else 'changed'})"


class FactQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # By the unit at the fact's date, not by the person: a manager keeps the results a rep
        # made in their team, and does not see what the rep sells after moving elsewhere.
        return reach.units_q("unit__") | reach.own_q("person_id")


class Fact(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=FactKind.choices)
    date = models.DateField(_("date"))
    amount = models.BigIntegerField(_("amount (fen)"), default=0)
    quantity = models.BigIntegerField(_("quantity"), default=0)
    profit = models.BigIntegerField(_("gross profit (fen)"), default=0)
    person = models.ForeignKey(
        "org.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="facts",
        verbose_name=_("person"),
        db_index=False,  # the (person, date) index serves every person lookup
        db_constraint=False,
    )
    unit = models.ForeignKey(
        "org.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="facts",
        verbose_name=_("unit at the date"),
        db_constraint=False,
    )
    product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("product"),
        db_index=False,
        db_constraint=False,
    )
    customer = models.ForeignKey(
        "catalog.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("customer"),
        db_index=False,
        db_constraint=False,
    )
    region = models.ForeignKey(
        "catalog.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("region"),
        db_index=False,
        db_constraint=False,
    )
    stage = models.CharField(_("stage"), max_length=32, blank=True)
    source = models.CharField(_("source"), max_length=64)
    external_id = models.CharField(_("external id"), max_length=128)
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="facts",
        verbose_name=_("batch"),
        db_constraint=False,
    )

    objects = FactQuerySet.as_manager()

    class Meta:
        verbose_name = _("fact")
        verbose_name_plural = _("facts")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="fact_idempotency_key")]
        indexes = [models.Index(fields=["kind", "date"]), models.Index(fields=["person", "date"])]

    def __str__(self):
        return f"{self.kind} {self.date} {self.amount}"


class FactCredit(models.Model):
    """Split credit: one fact counted for several people, shares in basis points summing to 10000.

    The fact's own person is the largest share (the owner) and the rollups count the fact
    for the owner only, so that team and company totals never double count;
    :class:`SplitCredit` moves the parts to their people when a metric credits by split.
    """

    fact = models.ForeignKey(Fact, on_delete=models.CASCADE, related_name="credits")
    person = models.ForeignKey("org.Person", on_delete=models.PROTECT, related_name="fact_credits")
    share_bp = models.PositiveIntegerField(_("share (basis points)"))
    # The person's part of the fact's values, divided once when the credit is written (largest
    # remainder, so the parts add up to the fact exactly): reads then sum plain columns.
    amount = models.BigIntegerField(default=0)
    quantity = models.BigIntegerField(default=0)
    profit = models.BigIntegerField(default=0)
    rows = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fact", "person"], name="fact_credit_once")]

    def __str__(self):
        return f"{self.fact_id} → {self.person_id} {self.share_bp / 100:g}%"


class RollupQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        mine = Q(person_id=reach.person_id or -1)
        return Q(unit_id__in=reach.unit_ids()) | mine if reach.paths else mine


SUM_FIELDS = ["amount", "quantity", "profit", "rows"]


class Sums(models.Model):
    """What every rollup grain holds: the sums of a kind (and stage) of fact. Ids in the grains'
    keys are plain integers with 0 for "none" so that the unique key works with ON CONFLICT
    upserts on SQLite and PostgreSQL alike (NULLs never clash)."""

    kind = models.CharField(max_length=16, choices=FactKind.choices)
    stage = models.CharField(max_length=32, blank=True, default="")
    amount = models.BigIntegerField(default=0)
    quantity = models.BigIntegerField(default=0)
    profit = models.BigIntegerField(default=0)
    rows = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class RollupSums(Sums):
    """The sums per unit (and more, below)."""

    unit_id = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class Rollup(RollupSums):
    """Sums per person, unit, product and region and a period (a day, a month)."""

    person_id = models.BigIntegerField(default=0)
    product_id = models.BigIntegerField(default=0)
    region_id = models.BigIntegerField(default=0)

    objects = RollupQuerySet.as_manager()

    class Meta:
        abstract = True


class DailyRollup(Rollup):
    """The sums per day."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                # Integers before text: PostgreSQL compares text through the collation, and an
                # import inserts a rollup row for nearly every order line.
                fields=["day", "person_id", "unit_id", "product_id", "region_id", "kind", "stage"],
                name="rollup_key",
            )
        ]
        # Day ranges (with any kind) use the unique key, which starts with the day; a person's
        # days their own index (PostgreSQL cannot skip through the key's leading day as SQLite
        # does: a rep's year read 70 ms instead of a few).
        indexes = [models.Index(fields=["unit_id", "day"]), models.Index(fields=["person_id", "day"])]

    def __str__(self):
        return f"{self.day} {self.kind} {self.amount}"


class MonthRollup(Rollup):
    """The same sums per calendar month (``month`` is its first day): a year's figure reads
    twelve months of these rather than a row per order line (a line-level export makes nearly
    one daily row per line). Kept with DailyRollup in the write's transaction (rollups.py)."""

    month = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "person_id", "unit_id", "product_id", "region_id", "kind", "stage"],
                name="month_rollup_key",
            )
        ]
        indexes = [
            models.Index(fields=["unit_id", "month"]),
            # People's months, covering what their reads sum: a rep's dashboard ranks 5,000 reps
            # by their month so far, and fetching their 39,000 rows from 24,000 table pages took
            # 250-480 ms on PostgreSQL against 50-80 ms from this index alone.
            models.Index(
                fields=[
                    "person_id",
                    "kind",
                    "month",
                    "stage",
                    "product_id",
                    "region_id",
                    "unit_id",
                    *SUM_FIELDS,
                ],
                name="month_rollup_by_person",
            ),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.kind} {self.amount}"


class UnitRollupQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # Rows of whole units across their people: only for those who see the unit.
        return Q(unit_id__in=reach.unit_ids()) if reach.paths else Q(pk__in=[])


class UnitRollup(RollupSums):
    """Sums per unit and sales region across people and products: a team's or a region's
    figure, and its region x month heat map, read a row or two per unit and period
    instead of one per person, product and region (on the large demo about 1,200 rows a month
    instead of 36,000 of MonthRollup, and a few hundred a day instead of 5,500). Kept with the
    other grains in the write's transaction (rollups.py). A second index holds the sums, so reads
    are index-only (on SQLite ten times faster than looking each row up), and it starts with the
    unit: a team's or a region's months are then a few short ranges of it, not a walk over every
    unit's rows of those months (a team's year to date on the large demo: 8.9 -> 2.2 ms; a read of
    every unit, the company's tracking table, takes one short range per unit)."""

    region_id = models.BigIntegerField(default=0)

    objects = UnitRollupQuerySet.as_manager()

    class Meta:
        abstract = True


class UnitDayRollup(UnitRollup):
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "day", "stage", "unit_id", "region_id"], name="unit_day_rollup_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["kind", "unit_id", "day", "stage", "region_id", *SUM_FIELDS],
                name="unit_day_rollup_by_unit",
            )
        ]

    def __str__(self):
        return f"{self.day} {self.kind} {self.amount}"


class UnitMonthRollup(UnitRollup):
    month = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "month", "stage", "unit_id", "region_id"], name="unit_month_rollup_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["kind", "unit_id", "month", "stage", "region_id", *SUM_FIELDS],
                name="unit_month_rollup_by_unit",
            )
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.kind} {self.amount}"


class CompanyRollupQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # The whole company's rows: only for those who see everything.
        return Q(pk__in=[])


class CompanyRollup(Sums):
    """Sums per product and sales region across people and units: the company's figures (its
    total, curve, region x month heat map and product lines) read a few hundred rows a day or a
    month, whatever the size of the sales force (on the large demo 132 rows a day instead of 672
    unit rows or 3,709 person rows; the company's product lines of a month read 0.2 s of day rows
    on PostgreSQL before). Kept with the other grains in the write's transaction (rollups.py);
    no person or unit in the key, so a move re-books nothing here."""

    product_id = models.BigIntegerField(default=0)
    region_id = models.BigIntegerField(default=0)

    objects = CompanyRollupQuerySet.as_manager()

    class Meta:
        abstract = True


class CompanyDayRollup(CompanyRollup):
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "day", "stage", "product_id", "region_id"], name="company_day_rollup_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["kind", "day", "stage", "product_id", "region_id", *SUM_FIELDS],
                name="company_day_rollup_sums",
            )
        ]

    def __str__(self):
        return f"{self.day} {self.kind} {self.amount}"


class CompanyMonthRollup(CompanyRollup):
    month = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "month", "stage", "product_id", "region_id"], name="company_month_rollup_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["kind", "month", "stage", "product_id", "region_id", *SUM_FIELDS],
                name="company_month_rollup_sums",
            )
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.kind} {self.amount}"


class CreditQuerySet(RollupQuerySet):
    def scope_filter(self, reach):
        # The people ever placed in the subtrees first: the databases push that filter into the
        # views' DISTINCT, so that the unit at each row's day is looked up for their rows only.
        mine = Q(person_id=reach.person_id or -1)
        if not reach.paths:
            return mine
        return Q(person_id__in=placed_people(reach.unit_ids()), unit_id__in=reach.unit_ids()) | mine


def placed_people(unit_ids):
    """A subquery of the people with a membership, at any time, in ``unit_ids``."""
    from salestarget.org.models import Membership

    return Membership.objects.filter(unit_id__in=unit_ids).values("person_id")


class CreditRow(models.Model):
    """A rollup row as a credit rule credits it: the same columns as :class:`DailyRollup`, with
    ``person_id`` the credited person and ``unit_id`` the unit that person belonged to on the
    day. Read-only views (migration 0011), restricted like the rollups: a rep sees what they
    are credited with, a manager the credits of the people in their subtree at the day.

    ``id`` is not unique (Django needs a primary key; the views have none): never fetch rows
    as objects, only aggregate them (see :mod:`salestarget.actuals.credit`)."""

    id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    kind = models.CharField(max_length=16, choices=FactKind.choices)
    stage = models.CharField(max_length=32)
    person_id = models.BigIntegerField()
    unit_id = models.BigIntegerField()
    product_id = models.BigIntegerField()
    region_id = models.BigIntegerField()
    amount = models.BigIntegerField()
    quantity = models.BigIntegerField()
    profit = models.BigIntegerField()
    rows = models.BigIntegerField()

    objects = CreditQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.day} {self.kind} {self.person_id} {self.amount}"


class TerritoryCredit(CreditRow):
    """Each rollup row once for everyone assigned, on its day, to its region or a region above
    it (``id`` is the rollup's id: a unit's total counts each rollup once, however many of its
    people hold the territory)."""

    class Meta:
        managed = False
        db_table = "actuals_territorycredit"


class SplitCredit(CreditRow):
    """The rollups with every split fact moved from its owner to the people sharing it (their
    stored parts), so that person and unit totals both add up without double counting."""

    class Meta:
        managed = False
        db_table = "actuals_splitcredit"


class DailyReportQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # By the report's day: a lead sees the reports filed while the rep was in the team.
        return reach.people_q("person_id", on="day")


class DailyReport(models.Model):
    """A rep's 销售日报 for one day: it exists even when the day brought no deals, which is
    how a team lead tells "nothing to report" from "has not reported"."""

    person = models.ForeignKey(
        "org.Person", on_delete=models.CASCADE, related_name="daily_reports", verbose_name=_("person")
    )
    day = models.DateField(_("day"))
    note = models.TextField(_("note"), blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = DailyReportQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "person"]
        verbose_name = _("daily report")
        verbose_name_plural = _("daily reports")
        constraints = [models.UniqueConstraint(fields=["person", "day"], name="daily_report_once_a_day")]

    def __str__(self):
        return f"{self.person} {self.day}"


class UploadQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # An upload is its uploader's draft until it becomes a batch.
        return Q(created_by_id=reach.user_id)


class Upload(models.Model):
    """A file on its way in: stored on upload, mapped and checked, then imported by a
    background job. It replaces the session as the import's state, so the job, a reload or a
    second tab all find the same thing; the batch is set in the import's own transaction, which
    makes a job that is run again after its worker died finish the import exactly once."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        CHECKED = "checked", _("Checked")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    path = models.CharField(_("stored file"), max_length=500)
    filename = models.CharField(_("file"), max_length=255)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    kind = models.CharField(_("kind"), max_length=32)
    source = models.CharField(_("source"), max_length=64, blank=True)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    # What the user chose on the mapping page: mapping, date format, unit, create_missing.
    options = models.JSONField(_("import options"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.UPLOADED)
    dry_run = models.BooleanField(_("check only"), default=False)
    job_id = models.UUIDField(_("job"), null=True, blank=True)
    # The last check's outcome (errors, preview) or a failed job's reason.
    result = models.JSONField(_("result"), default=dict, blank=True)
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("batch"),
    )

    objects = UploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")

    def __str__(self):
        return f"#{self.pk} {self.filename}"
