import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from dentalsales.core.demo import (
    DEMO_PASSWORD,
    DEMO_USERS,
    demo_data_loaded,
    load_demo_data,
)
from dentalsales.sales.models import OrderStatus


class Command(BaseCommand):
    help = _(
        "Load demo users, customers, products, stock and orders into the database. "
        "Does nothing when the demo data is already there."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help=_("Load the demo data even though DEBUG is off (for a demo server)."),
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                _("DEBUG is off, so this looks like a production database. Use --force to load the demo data anyway.")
            )
        if demo_data_loaded():
            self.stdout.write(_("The demo data is already loaded; nothing was changed."))
            return

        # Every service logs its writes; thousands of lines would hide the summary.
        app_logger = logging.getLogger("dentalsales")
        previous_level = app_logger.level
        if options["verbosity"] < 2:
            app_logger.setLevel(logging.WARNING)
        try:
            summary = load_demo_data()
        finally:
            app_logger.setLevel(previous_level)

        self.stdout.write(self.style.SUCCESS(_("Demo data loaded.")))
        counts = [
            (_("Users"), summary.users),
            (_("Customers"), summary.customers),
            (_("Product categories"), summary.categories),
            (_("Products"), summary.products),
            (_("Warehouses"), summary.warehouses),
            (_("Lots"), summary.lots),
            (_("Goods receipts"), summary.receipts),
        ]
        for label, count in counts:
            self.stdout.write(f"  {label}: {count}")
        self.stdout.write(_("Sales orders by status:"))
        for status in OrderStatus:
            self.stdout.write(f"  {status.label}: {summary.orders_by_status.get(status.value, 0)}")
        self.stdout.write(_("Demo logins (password for all: %(password)s):") % {"password": DEMO_PASSWORD})
        for username, last_name, first_name, role in DEMO_USERS:
            self.stdout.write(f"  {username:<12} {role.label}, {last_name}{first_name}")
