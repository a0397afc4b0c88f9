from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('org', '0002_role_assignments'),
    ]

    operations = [
        migrations.AddField(
            model_name='person',
            name='employee_no',
            field=models.CharField(blank=True, max_length=32, verbose_name='employee number'),
        ),
        migrations.AddField(
            model_name='person',
            name='national_id',
            field=models.CharField(blank=True, max_length=32, verbose_name='national id'),
        ),
        migrations.AddField(
            model_name='historicalperson',
            name='employee_no',
            field=models.CharField(blank=True, max_length=32, verbose_name='employee number'),
        ),
        migrations.AddConstraint(
            model_name='person',
            constraint=models.UniqueConstraint(condition=models.Q(('employee_no', ''), _negated=True), fields=('employee_no',), name='person_employee_no_unique'),
        ),
        migrations.AddConstraint(
            model_name='person',
            constraint=models.UniqueConstraint(condition=models.Q(('national_id', ''), _negated=True), fields=('national_id',), name='person_national_id_unique'),
        ),
    ]
