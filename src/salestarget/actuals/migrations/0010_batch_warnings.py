from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('actuals', '0009_upload'),
    ]

    operations = [
        migrations.AddField(
            model_name='importbatch',
            name='warnings',
            field=models.JSONField(blank=True, default=list, verbose_name='warnings'),
        ),
    ]
