from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from dentalsales.aftersales.services import remind_due_callbacks, schedule_satisfaction_callbacks


class Command(BaseCommand):
    help = (
        "Schedule a satisfaction call-back for each recent shipment that has none, "
        "then remind representatives of call-backs that fell due; run daily from the scheduler."
    )

    def handle(self, *args, **options):
        created = schedule_satisfaction_callbacks()
        reminded = remind_due_callbacks()
        self.stdout.write(
            ngettext("%(count)s call-back scheduled.", "%(count)s call-backs scheduled.", created) % {"count": created}
        )
        self.stdout.write(
            ngettext("%(count)s representative reminded.", "%(count)s representatives reminded.", reminded) % {"count": reminded}
        )
