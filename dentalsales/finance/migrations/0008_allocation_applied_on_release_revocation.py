import django.utils.timezone
from django.db import migrations, models


def fill_applied_on(apps, schema_editor):
    """Date earlier allocations: the later of the document's date and the day the allocation was made."""
    tz = django.utils.timezone.get_current_timezone()
    for model_name, document, date_field in (
        ("PaymentAllocation", "payment", "received_on"),
        ("CreditNoteAllocation", "credit_note", "issued_on"),
    ):
        model = apps.get_model("finance", model_name)
        for allocation in model.objects.select_related(document).iterator():
            made_on = allocation.created_at.astimezone(tz).date()
            allocation.applied_on = max(getattr(getattr(allocation, document), date_field), made_on)
            allocation.save(update_fields=["applied_on"])


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0007_fill_representatives"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditnoteallocation",
            name="applied_on",
            field=models.DateField(null=True, verbose_name="applied on"),
        ),
        migrations.AddField(
            model_name="paymentallocation",
            name="applied_on",
            field=models.DateField(null=True, verbose_name="applied on"),
        ),
        migrations.RunPython(fill_applied_on, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="creditnoteallocation",
            name="applied_on",
            field=models.DateField(verbose_name="applied on"),
        ),
        migrations.AlterField(
            model_name="paymentallocation",
            name="applied_on",
            field=models.DateField(verbose_name="applied on"),
        ),
        migrations.AddField(
            model_name="creditrelease",
            name="revocation_reason",
            field=models.CharField(blank=True, max_length=300, verbose_name="reason for revoking"),
        ),
        migrations.AddField(
            model_name="historicalcreditrelease",
            name="revocation_reason",
            field=models.CharField(blank=True, max_length=300, verbose_name="reason for revoking"),
        ),
    ]
