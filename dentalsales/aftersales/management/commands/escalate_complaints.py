from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from dentalsales.aftersales.services import escalate_overdue_complaints


class Command(BaseCommand):
    help = "Escalate open complaints past their due date to the responsible person's supervisor; run hourly or daily from the scheduler."

    def handle(self, *args, **options):
        count = len(escalate_overdue_complaints())
        self.stdout.write(
            ngettext("%(count)s complaint escalated.", "%(count)s complaints escalated.", count) % {"count": count}
        )
