from django.core.management.base import BaseCommand

from dentalsales.aftersales.services import escalate_overdue_complaints


class Command(BaseCommand):
    help = "Escalate open complaints past their due date to the responsible person's supervisor; run hourly or daily from the scheduler."

    def handle(self, *args, **options):
        escalated = escalate_overdue_complaints()
        self.stdout.write(f"{len(escalated)} complaints escalated.")
