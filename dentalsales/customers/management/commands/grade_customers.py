from django.core.management.base import BaseCommand

from dentalsales.customers.grading import apply_grading, grading_preview


class Command(BaseCommand):
    help = "Grade key and general customers A, B or C by the Pareto rule on trailing net sales; run monthly."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the customers that would move; change nothing.")

    def handle(self, *args, **options):
        if options["dry_run"]:
            moves = [move for move in grading_preview() if move.moves]
        else:
            moves = apply_grading()
        for move in moves:
            self.stdout.write(f"{move.customer.code}\t{move.old_grade or '-'} -> {move.new_grade}\t{move.net_sales}")
        verb = "would change" if options["dry_run"] else "changed"
        self.stdout.write(f"{len(moves)} customers {verb} grade.")
