from django.core.management.base import BaseCommand

from dentalsales.quality.reminders import send_expiry_reminders


class Command(BaseCommand):
    help = (
        "Notify quality officers and logistics of near-expiry and expired stock and of expiring or invalid "
        "registrations (windows from EXPIRY_WINDOWS_DAYS); run daily, a second run on the same day sends nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print the counts and recipients without sending.")

    def handle(self, *args, **options):
        recipients, counts = send_expiry_reminders(dry_run=options["dry_run"])
        windows = ", ".join(f"{days} days: {count}" for days, count in counts["windows"])
        self.stdout.write(
            f"Lots with stock expiring within {windows}; expired lots in stock: {counts['expired_lots']}; "
            f"registrations expiring: {counts['expiring_registrations']}; invalid registrations: {counts['invalid_registrations']}."
        )
        action = "Would notify" if options["dry_run"] else "Notified"
        self.stdout.write(f"{action} {len(recipients)} users: {', '.join(user.username for user in recipients) or '-'}")
