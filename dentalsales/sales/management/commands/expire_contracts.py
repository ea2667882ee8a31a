from django.core.management.base import BaseCommand

from dentalsales.sales.contracts import expire_contracts


class Command(BaseCommand):
    help = "Mark signed and active contracts whose end date has passed as expired; run daily from the scheduler."

    def handle(self, *args, **options):
        count = expire_contracts()
        self.stdout.write(f"{count} contracts expired.")
