from django.core.management.base import BaseCommand

from dentalsales.aftersales.services import remind_due_callbacks, schedule_satisfaction_callbacks


class Command(BaseCommand):
    help = (
        "Schedule a satisfaction call-back for each recent shipment that has none, "
        "then remind representatives of call-backs that fell due; run daily from the scheduler."
    )

    def handle(self, *args, **options):
        created = schedule_satisfaction_callbacks()
        reminded = remind_due_callbacks()
        self.stdout.write(f"{created} call-backs scheduled, {reminded} representatives reminded.")
