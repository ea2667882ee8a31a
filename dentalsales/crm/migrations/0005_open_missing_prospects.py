"""Open the pipeline record of every potential customer that was created without one.

Customers entered as potential on the customer form, through the API or by
an import used to get no ``Prospect``, so the pipeline and the conversion
report missed them. Each gets one at stage new with source "other",
created by (and its first stage change recorded for) the customer's owner.
"""

from django.db import migrations


def open_missing_prospects(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Prospect = apps.get_model("crm", "Prospect")
    ProspectStageChange = apps.get_model("crm", "ProspectStageChange")

    missing = Customer.objects.filter(category="potential", prospect__isnull=True).order_by("pk")
    for customer in missing.iterator():
        prospect = Prospect.objects.create(customer=customer, source="other", stage="new", created_by_id=customer.owner_id)
        ProspectStageChange.objects.create(prospect=prospect, from_stage="", to_stage="new", actor_id=customer.owner_id)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_prospect_source_import_other"),
        ("customers", "0004_drop_category_history"),
    ]

    operations = [migrations.RunPython(open_missing_prospects, migrations.RunPython.noop)]
