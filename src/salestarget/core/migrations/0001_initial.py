import secrets

from django.db import migrations, models


def first_token(apps, schema_editor):
    apps.get_model("core", "ReadVersion").objects.create(id=1, token=secrets.token_hex(16))


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="ReadVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.CharField(max_length=32)),
            ],
        ),
        migrations.RunPython(first_token, migrations.RunPython.noop),
    ]
