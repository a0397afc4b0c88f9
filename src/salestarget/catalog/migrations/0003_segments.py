"""Customer segments become the company's own list: a Segment table seeded with the four fixed
segments the app started with, and Customer.segment a foreign key to it (data kept)."""

import django.db.models.deletion
from django.db import migrations, models

# (code, name, sort order): the labels the fixed choices had, as the company's own names.
SEEDED = (
    ("key", "大客户", 10),
    ("smb", "中小企业", 20),
    ("consumer", "个人消费者", 30),
    ("public", "政府/公共事业", 40),
)


def seed_and_link(apps, schema_editor):
    Segment = apps.get_model("catalog", "Segment")
    Customer = apps.get_model("catalog", "Customer")
    ids = {}
    for code, name, order in SEEDED:
        segment, _created = Segment.objects.get_or_create(
            code=code, defaults={"name": name, "sort_order": order}
        )
        ids[code] = segment.pk
    # A code outside the fixed list cannot have been stored, but keep whatever is there.
    for code in (
        Customer.objects.exclude(old_segment="")
        .exclude(old_segment__in=ids)
        .values_list("old_segment", flat=True)
        .distinct()
    ):
        ids[code] = Segment.objects.create(code=code, name=code, sort_order=100).pk
    for code, pk in ids.items():
        Customer.objects.filter(old_segment=code).update(segment=pk)


def unlink(apps, schema_editor):
    Customer = apps.get_model("catalog", "Customer")
    Segment = apps.get_model("catalog", "Segment")
    for pk, code in Segment.objects.values_list("pk", "code"):
        Customer.objects.filter(segment=pk).update(old_segment=code[:16])


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Segment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=64, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                ("sort_order", models.PositiveIntegerField(default=0, verbose_name="sort order")),
                ("active", models.BooleanField(default=True, verbose_name="active")),
            ],
            options={
                "verbose_name": "customer segment",
                "verbose_name_plural": "customer segments",
                "ordering": ["sort_order", "code"],
            },
        ),
        migrations.RenameField(model_name="customer", old_name="segment", new_name="old_segment"),
        migrations.AlterField(
            model_name="customer",
            name="old_segment",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.AddField(
            model_name="customer",
            name="segment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="customers",
                to="catalog.segment",
                verbose_name="segment",
            ),
        ),
        migrations.RunPython(seed_and_link, unlink),
        migrations.RemoveField(model_name="customer", name="old_segment"),
    ]
