"""The standard metric set every install starts with (editable afterwards in the admin)."""

from django.db import migrations

STANDARD = [
    # code, zh, en, unit, decimals, aggregation, fact kind, stage, order
    ("sales", "销售额", "Sales amount", "元", 2, "sum_amount", "order", "", 10),
    ("collections", "回款额", "Collections", "元", 2, "sum_amount", "collection", "", 20),
    ("new_customers", "新客户数", "New customers", "个", 0, "new_customers", "order", "", 30),
    ("gross_profit", "毛利", "Gross profit", "元", 2, "sum_profit", "order", "", 40),
    ("visits", "拜访量", "Visits", "次", 0, "count", "visit", "", 50),
    ("opportunities", "商机数", "Opportunities", "个", 0, "count", "opportunity", "", 60),
    ("won_deals", "赢单数", "Won deals", "个", 0, "count", "opportunity", "won", 70),
    ("orders", "订单数", "Orders", "笔", 0, "count", "order", "", 80),
]
RATIOS = [
    # code, zh, en, unit, decimals, numerator, denominator, order
    ("conversion_rate", "转化率", "Conversion rate", "%", 4, "won_deals", "opportunities", 90),
    ("avg_order_value", "客单价", "Average order value", "元", 2, "sales", "orders", 100),
]


def seed(apps, schema_editor):
    Metric = apps.get_model("metrics", "Metric")
    for code, zh, en, unit, decimals, aggregation, kind, stage, order in STANDARD:
        Metric.objects.update_or_create(
            code=code,
            defaults=dict(
                name_zh=zh, name_en=en, unit=unit, decimals=decimals, aggregation=aggregation,
                fact_kind=kind, stage=stage, sort_order=order,
            ),
        )
    for code, zh, en, unit, decimals, num, den, order in RATIOS:
        Metric.objects.update_or_create(
            code=code,
            defaults=dict(
                name_zh=zh, name_en=en, unit=unit, decimals=decimals, aggregation="ratio",
                numerator=Metric.objects.get(code=num), denominator=Metric.objects.get(code=den),
                sort_order=order,
            ),
        )
    FiscalSettings = apps.get_model("metrics", "FiscalSettings")
    FiscalSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
