from django.core.management.base import BaseCommand

from dentalsales.sales.quotations import expire_quotations


class Command(BaseCommand):
    help = "Mark sent quotations whose validity has ended as expired; run daily from the scheduler."

    def handle(self, *args, **options):
        count = expire_quotations()
        self.stdout.write(f"{count} quotations expired.")
