import logging

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dentalsales.accounts.roles import WAREHOUSE_ROLES
from dentalsales.core.errors import DomainError
from dentalsales.sales.selectors import with_backorders
from dentalsales.sales.services import BACKORDER_STATUSES, allocate_backorder
from dentalsales.sales.models import SalesOrder

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Reserve eligible stock for the backorders of released and partially shipped orders, oldest order first; "
        "run after receiving stock or from the scheduler."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username of the logistics user recorded as the one who allocated.")

    def handle(self, *args, **options):
        actor = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user named “{options['user']}”.")
        if not actor.has_role(*WAREHOUSE_ROLES):
            raise CommandError(f"User “{actor.username}” is not logistics, a manager or an administrator.")

        order_ids = list(
            with_backorders(SalesOrder.objects.filter(status__in=BACKORDER_STATUSES))
            .filter(backordered_quantity__gt=0)
            .order_by("order_date", "number")
            .values_list("pk", flat=True)
        )
        allocated = still_short = 0
        for order_id in order_ids:
            # One transaction per order: the service locks the order, then the balance rows, so a
            # concurrent run or release waits and sees what this one reserved.
            try:
                order = allocate_backorder(actor=actor, order=SalesOrder(pk=order_id))
            except DomainError as error:
                # No eligible stock yet, or another run or a cancellation got there first.
                logger.info("Backorder of order %s not allocated: %s", order_id, error.code)
                still_short += 1
                continue
            allocated += 1
            if order.allocation.backordered:
                still_short += 1
            self.stdout.write(f"{order.number}\t{order.allocation.reserved_quantity} reserved\t{order.allocation.backordered_quantity} backordered")
        self.stdout.write(f"{len(order_ids)} orders with backorder: {allocated} got stock, {still_short} still wait for stock.")
