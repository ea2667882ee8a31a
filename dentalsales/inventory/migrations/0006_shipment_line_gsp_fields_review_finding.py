from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0005_goods_receipt_idempotency_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundreviewline",
            name="finding",
            field=models.CharField(
                blank=True,
                choices=[
                    ("wrong_product", "Scanned code names another product"),
                    ("wrong_lot", "Scanned code names another lot"),
                    ("wrong_expiry", "Scanned code names another expiry date"),
                    ("short", "Fewer units counted than picked"),
                    ("lot_recalled", "Lot recalled"),
                    ("lot_quarantined", "Lot quarantined"),
                    ("lot_expired", "Lot expired"),
                    ("reported", "Reported by the reviewer"),
                ],
                max_length=20,
                verbose_name="finding",
            ),
        ),
        migrations.AddField(
            model_name="outboundreviewline",
            name="note_generated",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="shipmentline",
            name="manufacturer_licence_number",
            field=models.CharField(blank=True, max_length=60, verbose_name="manufacturer's production licence or record number"),
        ),
        migrations.AddField(
            model_name="shipmentline",
            name="serial_numbers",
            field=models.TextField(
                blank=True,
                help_text="Serial numbers of the units picked from a serialised lot, separated by spaces.",
                verbose_name="serial numbers",
            ),
        ),
    ]
