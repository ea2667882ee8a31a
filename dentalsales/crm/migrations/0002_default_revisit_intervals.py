from decimal import Decimal

from django.db import migrations

# Days between revisits per grade; a manager changes them in the admin.
DEFAULT_INTERVALS = {"A": 14, "B": 30, "C": 60, "potential": 30}


def create_defaults(apps, schema_editor):
    RevisitInterval = apps.get_model("crm", "RevisitInterval")
    CrmPolicy = apps.get_model("crm", "CrmPolicy")
    for key, days in DEFAULT_INTERVALS.items():
        RevisitInterval.objects.get_or_create(key=key, defaults={"days": days})
    if not CrmPolicy.objects.exists():
        CrmPolicy.objects.create(gift_approval_threshold=Decimal("200.00"), revisit_due_soon_days=7)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
