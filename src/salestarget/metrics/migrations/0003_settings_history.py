"""Metrics and the company settings become editable in the app (issue 12): a version for the
optimistic check of the settings forms, and their history (who changed what, when), starting
with one "created" record of each existing row so that the first change has a "before"."""

import django.core.validators
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


def first_history(apps, schema_editor):
    from django.utils import timezone

    now = timezone.now()
    for name in ("Metric", "FiscalSettings"):
        model = apps.get_model("metrics", name)
        historical = apps.get_model("metrics", f"Historical{name}")
        fields = [f.attname for f in model._meta.concrete_fields]
        historical.objects.bulk_create(
            historical(**{f: getattr(row, f) for f in fields}, history_date=now, history_type="+")
            for row in model.objects.all()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0002_seed_standard_metrics"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="fiscalsettings",
            name="version",
            field=models.PositiveIntegerField(default=1, editable=False, verbose_name="version"),
        ),
        migrations.AddField(
            model_name="metric",
            name="version",
            field=models.PositiveIntegerField(default=1, editable=False, verbose_name="version"),
        ),
        migrations.AlterField(
            model_name="fiscalsettings",
            name="currency",
            field=models.CharField(
                choices=[
                    ("CNY", "CNY"),
                    ("USD", "USD"),
                    ("EUR", "EUR"),
                    ("HKD", "HKD"),
                    ("JPY", "JPY"),
                    ("GBP", "GBP"),
                    ("SGD", "SGD"),
                    ("TWD", "TWD"),
                    ("KRW", "KRW"),
                    ("AUD", "AUD"),
                ],
                default="CNY",
                help_text="Amounts are stored with two decimals in every currency; only the display changes.",
                max_length=3,
                verbose_name="currency",
            ),
        ),
        migrations.CreateModel(
            name="HistoricalFiscalSettings",
            fields=[
                (
                    "id",
                    models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID"),
                ),
                ("version", models.PositiveIntegerField(default=1, editable=False, verbose_name="version")),
                (
                    "fy_start_month",
                    models.PositiveSmallIntegerField(
                        default=1,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(12),
                        ],
                        verbose_name="fiscal year starts in month",
                    ),
                ),
                (
                    "week_start",
                    models.PositiveSmallIntegerField(
                        choices=[(0, "Monday"), (6, "Sunday")], default=0, verbose_name="week starts on"
                    ),
                ),
                ("country", models.CharField(default="CN", max_length=2, verbose_name="working-day country")),
                (
                    "progress_basis",
                    models.CharField(
                        choices=[("working", "Working days"), ("calendar", "Calendar days")],
                        default="working",
                        max_length=8,
                        verbose_name="time progress counts",
                    ),
                ),
                (
                    "currency",
                    models.CharField(
                        choices=[
                            ("CNY", "CNY"),
                            ("USD", "USD"),
                            ("EUR", "EUR"),
                            ("HKD", "HKD"),
                            ("JPY", "JPY"),
                            ("GBP", "GBP"),
                            ("SGD", "SGD"),
                            ("TWD", "TWD"),
                            ("KRW", "KRW"),
                            ("AUD", "AUD"),
                        ],
                        default="CNY",
                        help_text="Amounts are stored with two decimals in every currency; only the display changes.",
                        max_length=3,
                        verbose_name="currency",
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical fiscal calendar",
                "verbose_name_plural": "historical fiscal calendar",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalMetric",
            fields=[
                (
                    "id",
                    models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID"),
                ),
                ("version", models.PositiveIntegerField(default=1, editable=False, verbose_name="version")),
                ("code", models.SlugField(max_length=32, verbose_name="code")),
                ("name_zh", models.CharField(max_length=50, verbose_name="name (Chinese)")),
                ("name_en", models.CharField(max_length=50, verbose_name="name (English)")),
                (
                    "unit",
                    models.CharField(
                        help_text="Shown after values, e.g. 元, 个, %.", max_length=16, verbose_name="unit"
                    ),
                ),
                (
                    "decimals",
                    models.PositiveSmallIntegerField(
                        default=0,
                        help_text="Values are stored × 10^decimals.",
                        validators=[django.core.validators.MaxValueValidator(4)],
                        verbose_name="decimals",
                    ),
                ),
                (
                    "direction",
                    models.CharField(
                        choices=[("higher", "Higher is better"), ("lower", "Lower is better")],
                        default="higher",
                        max_length=8,
                        verbose_name="direction",
                    ),
                ),
                (
                    "aggregation",
                    models.CharField(
                        choices=[
                            ("sum_amount", "Sum of amount"),
                            ("sum_quantity", "Sum of quantity"),
                            ("sum_profit", "Sum of gross profit"),
                            ("count", "Count of rows"),
                            ("new_customers", "Distinct new customers"),
                            ("ratio", "Ratio of two metrics"),
                        ],
                        max_length=16,
                        verbose_name="aggregation",
                    ),
                ),
                (
                    "fact_kind",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("order", "Order line"),
                            ("collection", "Collection"),
                            ("visit", "Visit"),
                            ("opportunity", "Opportunity"),
                        ],
                        max_length=16,
                        verbose_name="source fact kind",
                    ),
                ),
                (
                    "stage",
                    models.CharField(
                        blank=True,
                        help_text="Only count rows at this stage, e.g. won.",
                        max_length=32,
                        verbose_name="stage filter",
                    ),
                ),
                (
                    "credit_rule",
                    models.CharField(
                        choices=[
                            ("owner", "Owner on the row"),
                            ("territory", "Territory at the row's date"),
                            ("split", "Split between several people"),
                        ],
                        default="owner",
                        max_length=16,
                        verbose_name="credit rule",
                    ),
                ),
                ("sort_order", models.PositiveSmallIntegerField(default=100, verbose_name="order")),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "denominator",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="metrics.metric",
                        verbose_name="denominator",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "numerator",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="metrics.metric",
                        verbose_name="numerator",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical metric",
                "verbose_name_plural": "historical metrics",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RunPython(first_history, migrations.RunPython.noop),
    ]
