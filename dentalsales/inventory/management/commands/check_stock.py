"""Check the stock invariants and exit with status 1 when any is breached, so a cron job or monitor can alert."""

import sys

from django.core.management.base import BaseCommand

from dentalsales.inventory.stock_control import stock_invariant_breaches


class Command(BaseCommand):
    help = (
        "Check that on hand equals the sum of the stock ledger, that reserved is at most on hand and equals the open "
        "reservations, and that nothing is negative, per warehouse and lot. Prints every breach and exits with status 1 "
        "if there is any, 0 otherwise."
    )

    def handle(self, *args, **options):
        breaches = stock_invariant_breaches()
        for breach in breaches:
            self.stderr.write(str(breach))
        if breaches:
            self.stderr.write(self.style.ERROR(f"{len(breaches)} stock invariant breaches found."))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Stock is consistent: no breach found."))
