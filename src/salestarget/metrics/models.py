"""What is counted: metric definitions and the company's fiscal calendar."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from salestarget.core.money import CURRENCIES, DEFAULT_CURRENCY
from salestarget.org.permissions import SharedQuerySet


class FactKind(models.TextChoices):
    ORDER = "order", _("Order line")
    COLLECTION = "collection", _("Collection")
    VISIT = "visit", _("Visit")
    OPPORTUNITY = "opportunity", _("Opportunity")


class MetricQuerySet(SharedQuerySet):
    pass


class Versioned(models.Model):
    """A row edited in the app's settings pages: ``version`` goes up with every save, so a form
    opened before someone else saved can tell (metrics/services.py refuses the stale edit)."""

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        super().save(*args, **kwargs)


class Metric(Versioned):
    class Direction(models.TextChoices):
        HIGHER = "higher", _("Higher is better")
        LOWER = "lower", _("Lower is better")

    class Aggregation(models.TextChoices):
        SUM_AMOUNT = "sum_amount", _("Sum of amount")
        SUM_QUANTITY = "sum_quantity", _("Sum of quantity")
        SUM_PROFIT = "sum_profit", _("Sum of gross profit")
        COUNT = "count", _("Count of rows")
        NEW_CUSTOMERS = "new_customers", _("Distinct new customers")
        RATIO = "ratio", _("Ratio of two metrics")

    class Credit(models.TextChoices):
        OWNER = "owner", _("Owner on the row")
        TERRITORY = "territory", _("Territory at the row's date")
        SPLIT = "split", _("Split between several people")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=50)
    unit = models.CharField(_("unit"), max_length=16, help_text=_("Shown after values, e.g. 元, 个, %."))
    decimals = models.PositiveSmallIntegerField(
        _("decimals"),
        default=0,
        validators=[MaxValueValidator(4)],
        help_text=_("Values are stored × 10^decimals."),
    )
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.HIGHER
    )
    aggregation = models.CharField(_("aggregation"), max_length=16, choices=Aggregation.choices)
    fact_kind = models.CharField(_("source fact kind"), max_length=16, choices=FactKind.choices, blank=True)
    stage = models.CharField(
        _("stage filter"), max_length=32, blank=True, help_text=_("Only count rows at this stage, e.g. won.")
    )
    numerator = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("numerator")
    )
    denominator = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("denominator"),
    )
    credit_rule = models.CharField(
        _("credit rule"), max_length=16, choices=Credit.choices, default=Credit.OWNER
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)

    objects = MetricQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("metric")
        verbose_name_plural = _("metrics")

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "zh").startswith("en") else self.name_zh

    @property
    def scale(self) -> int:
        return 10**self.decimals

    def clean(self):
        super().clean()
        if self.aggregation == self.Aggregation.RATIO:
            if not (self.numerator_id and self.denominator_id):
                raise ValidationError(_("A ratio metric needs a numerator and a denominator."))
        elif not self.fact_kind:
            raise ValidationError({"fact_kind": _("Choose the kind of fact this metric counts.")})


class FiscalSettings(Versioned):
    """The company's calendar and currency; a single row (pk=1) read through
    ``FiscalSettings.current()``, changed through ``metrics.services.do_update_company_settings``."""

    class Basis(models.TextChoices):
        WORKING = "working", _("Working days")
        CALENDAR = "calendar", _("Calendar days")

    fy_start_month = models.PositiveSmallIntegerField(
        _("fiscal year starts in month"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    week_start = models.PositiveSmallIntegerField(
        _("week starts on"), default=0, choices=[(0, _("Monday")), (6, _("Sunday"))]
    )
    country = models.CharField(_("working-day country"), max_length=2, default="CN")
    progress_basis = models.CharField(
        _("time progress counts"), max_length=8, choices=Basis.choices, default=Basis.WORKING
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default=DEFAULT_CURRENCY,
        choices=[(code, code) for code in CURRENCIES],
        help_text=_("Amounts are stored with two decimals in every currency; only the display changes."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("fiscal calendar")
        verbose_name_plural = _("fiscal calendar")

    def __str__(self):
        return str(_("Fiscal calendar"))

    @classmethod
    def current(cls) -> FiscalSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class CalendarDay(models.Model):
    """A day of the company's working calendar that differs from the plain week: a public holiday
    or a make-up working day (调休) as the law announces them, or a company day off. Written only
    by ``metrics.services.do_set_calendar_year``, a year at a time. A year with at least one
    holiday row counts as entered by the company: its official days replace the library's
    (``salestarget.engine.calendar``)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday (day off)")
        WORKDAY = "workday", _("Make-up working day")
        COMPANY_OFF = "company_off", _("Company day off")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=50, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()

    @property
    def is_working(self) -> bool:
        return self.kind == self.Kind.WORKDAY
