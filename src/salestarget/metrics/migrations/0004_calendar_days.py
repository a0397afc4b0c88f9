"""The company's working calendar (issue 13): public holidays, make-up working days and company
days off per date, with their history."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0003_settings_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CalendarDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField(unique=True, verbose_name="date")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("holiday", "Public holiday (day off)"),
                            ("workday", "Make-up working day"),
                            ("company_off", "Company day off"),
                        ],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                ("name", models.CharField(blank=True, max_length=50, verbose_name="name")),
            ],
            options={
                "verbose_name": "calendar day",
                "verbose_name_plural": "calendar days",
                "ordering": ["date"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalCalendarDay",
            fields=[
                (
                    "id",
                    models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID"),
                ),
                ("date", models.DateField(db_index=True, verbose_name="date")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("holiday", "Public holiday (day off)"),
                            ("workday", "Make-up working day"),
                            ("company_off", "Company day off"),
                        ],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                ("name", models.CharField(blank=True, max_length=50, verbose_name="name")),
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
                "verbose_name": "historical calendar day",
                "verbose_name_plural": "historical calendar days",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
    ]
