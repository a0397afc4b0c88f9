"""Credit rules as views over the rollups (see salestarget.actuals.credit), and split credits
that carry their parts of the fact's values."""

from django.db import migrations, models

from salestarget.actuals.credit import SPLIT_VIEW_SQL, TERRITORY_VIEW_SQL, split_parts


def divide_existing(apps, schema_editor):
    FactCredit = apps.get_model("actuals", "FactCredit")
    Fact = apps.get_model("actuals", "Fact")
    fact_ids = FactCredit.objects.values_list("fact_id", flat=True).distinct()
    for fact in Fact.objects.filter(pk__in=fact_ids).only("amount", "quantity", "profit"):
        credits = list(FactCredit.objects.filter(fact=fact).order_by("pk"))
        parts = split_parts(fact.amount, fact.quantity, fact.profit, [c.share_bp for c in credits])
        for credit, (amount, quantity, profit, rows) in zip(credits, parts, strict=True):
            credit.amount, credit.quantity, credit.profit, credit.rows = amount, quantity, profit, rows
        FactCredit.objects.bulk_update(credits, ["amount", "quantity", "profit", "rows"])


def credit_row_fields():
    """The columns of the read-only views (models.CreditRow)."""
    return [
        ("id", models.BigIntegerField(primary_key=True, serialize=False)),
        ("day", models.DateField()),
        ("kind", models.CharField(max_length=16)),
        ("stage", models.CharField(max_length=32)),
        *[
            (name, models.BigIntegerField())
            for name in ("person_id", "unit_id", "product_id", "region_id", "amount", "quantity", "profit", "rows")
        ],
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("actuals", "0010_batch_warnings"),
        ("org", "0002_role_assignments"),
        ("catalog", "0002_initial"),
    ]

    operations = [
        migrations.AddField("factcredit", "amount", models.BigIntegerField(default=0)),
        migrations.AddField("factcredit", "quantity", models.BigIntegerField(default=0)),
        migrations.AddField("factcredit", "profit", models.BigIntegerField(default=0)),
        migrations.AddField("factcredit", "rows", models.BigIntegerField(default=0)),
        migrations.RunPython(divide_existing, migrations.RunPython.noop),
        migrations.RunSQL(TERRITORY_VIEW_SQL, "DROP VIEW actuals_territorycredit"),
        migrations.RunSQL(SPLIT_VIEW_SQL, "DROP VIEW actuals_splitcredit"),
        migrations.CreateModel(
            name="TerritoryCredit",
            fields=credit_row_fields(),
            options={"db_table": "actuals_territorycredit", "managed": False},
        ),
        migrations.CreateModel(
            name="SplitCredit",
            fields=credit_row_fields(),
            options={"db_table": "actuals_splitcredit", "managed": False},
        ),
    ]
