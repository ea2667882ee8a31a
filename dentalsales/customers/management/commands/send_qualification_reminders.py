from django.core.management.base import BaseCommand

from dentalsales.customers.reminders import send_expiry_reminders


class Command(BaseCommand):
    help = "Remind owners and quality officers of qualifications expiring in 90, 60 and 30 days; run daily."

    def handle(self, *args, **options):
        count = send_expiry_reminders()
        self.stdout.write(f"{count} qualification expiry reminders sent.")
