from django.core.management.base import BaseCommand

from dentalsales.crm.services import send_revisit_reminders


class Command(BaseCommand):
    help = (
        "Plan revisits for customers without an open plan, then notify each sales representative of their due and "
        "overdue revisits and each supervisor of their team's overdue ones. Run it daily from a scheduler; "
        "a second run on the same day sends nothing new."
    )

    def handle(self, *args, **options):
        representatives, supervisors = send_revisit_reminders()
        self.stdout.write(f"Reminded {representatives} representative(s) and {supervisors} supervisor(s).")
