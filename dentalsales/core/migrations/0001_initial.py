import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Region",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.CharField(max_length=6, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=50, verbose_name="name")),
                ("level", models.CharField(choices=[("province", "Province"), ("city", "City"), ("district", "District or county")], max_length=10, verbose_name="level")),
                ("full_name", models.CharField(max_length=100, verbose_name="full name")),
                ("is_statistical_zone", models.BooleanField(default=False, help_text="A development zone that exists only in statistics codes, not in GB/T 2260.", verbose_name="statistical zone")),
                ("parent", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="children", to="core.region")),
            ],
            options={"verbose_name": "region", "verbose_name_plural": "regions", "ordering": ["code"]},
        ),
        migrations.CreateModel(
            name="DocumentSequence",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("prefix", models.CharField(max_length=10)),
                ("day", models.DateField()),
                ("last_value", models.PositiveIntegerField(default=0)),
            ],
            options={"constraints": [models.UniqueConstraint(fields=("prefix", "day"), name="unique_sequence_per_prefix_day")]},
        ),
    ]
