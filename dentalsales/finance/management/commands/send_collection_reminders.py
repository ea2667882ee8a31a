from django.core.management.base import BaseCommand

from dentalsales.finance.reminders import send_collection_reminders


class Command(BaseCommand):
    help = (
        "Notify each sales representative of their customers' receivables due within 3 days or overdue, and their "
        "supervisor and finance of receivables overdue beyond CREDIT_OVERDUE_TOLERANCE_DAYS. Run it daily from a "
        "scheduler; a second run on the same day sends nothing new."
    )

    def handle(self, *args, **options):
        representatives, escalations = send_collection_reminders()
        self.stdout.write(f"Reminded {representatives} representative(s); escalated {escalations} overdue list(s).")
