from django.db import migrations

from dentalsales.core.regions import load_regions


def forward(apps, schema_editor):
    load_regions(apps.get_model("core", "Region"))


def backward(apps, schema_editor):
    apps.get_model("core", "Region").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
