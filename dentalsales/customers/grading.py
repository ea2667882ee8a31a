"""Customer category and grade: by hand with a reason, or by the Pareto grading rule.

The rule sorts key and general customers by net sales (excluding VAT) of
approved and later orders dated within the configured trailing months,
largest first. A customer is graded A while the running total including it
is within the grade A share of all sales, B while within the A and B share,
and C after that. The customer that crosses a boundary gets the better
grade (so the largest customer is always A), and a customer without sales
gets C. Every change is stored as a
``GradeChange`` with who, when and why.
"""

import calendar
import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput, NotPermitted, clean_model
from dentalsales.core.timeutils import local_today

from .models import Customer, CustomerCategory, CustomerGrade, GradeChange, GradeChangeSource, GradingSettings
from .selectors import visible_customers

logger = logging.getLogger(__name__)

GRADE_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMINISTRATOR})
RULE_ROLES = frozenset({Role.MANAGER, Role.ADMINISTRATOR})
# Orders in these states count as sales; drafts, rejected and cancelled ones do not.
SOLD_STATUSES = ("approved", "released", "partially_shipped", "shipped", "completed")


@dataclass
class GradeMove:
    customer: Customer
    net_sales: Decimal
    share: Decimal
    old_grade: str
    new_grade: str

    @property
    def moves(self):
        return self.old_grade != self.new_grade


def months_before(day, months):
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def net_sales_by_customer(since, until):
    """Return {customer id: net sales excluding VAT} of orders dated from ``since`` to ``until``, inclusive."""
    from dentalsales.sales.models import SalesOrderLine

    net = ExpressionWrapper(F("amount") - F("tax_amount"), output_field=DecimalField(max_digits=16, decimal_places=2))
    rows = (
        SalesOrderLine.objects.filter(
            order__status__in=SOLD_STATUSES, order__order_date__gte=since, order__order_date__lte=until
        )
        .values("order__customer_id")
        .annotate(total=Sum(net))
    )
    return {row["order__customer_id"]: row["total"] or Decimal("0") for row in rows}


def _percent(part, total):
    # Rounded to hundredths so that shares such as 69.999… from VAT-exclusive
    # amounts meet a 70 % threshold.
    return (part / total * 100).quantize(Decimal("0.01")) if total else Decimal("0")


def grading_preview(settings=None, day=None):
    """Return a ``GradeMove`` for every active key or general customer, largest sales first."""
    settings = settings or GradingSettings.current()
    day = day or local_today()
    sales = net_sales_by_customer(months_before(day, settings.months), day)
    customers = list(
        Customer.objects.filter(is_active=True, category__in=[CustomerCategory.KEY, CustomerCategory.GENERAL])
        .select_related("owner")
        .only("pk", "code", "name", "grade", "category", "owner__username", "owner__first_name", "owner__last_name")
    )
    customers.sort(key=lambda customer: (-sales.get(customer.pk, Decimal("0")), customer.code))
    total = sum(sales.get(customer.pk, Decimal("0")) for customer in customers)
    moves = []
    running = Decimal("0")
    for customer in customers:
        amount = sales.get(customer.pk, Decimal("0"))
        share_before = _percent(running, total)
        running += amount
        share_after = _percent(running, total)
        if amount <= 0:
            grade = CustomerGrade.C
        elif share_after <= settings.grade_a_share or share_before == 0:
            grade = CustomerGrade.A
        elif share_after <= settings.grade_b_share or share_before < settings.grade_a_share:
            grade = CustomerGrade.B
        else:
            grade = CustomerGrade.C
        share = (amount / total * 100).quantize(Decimal("0.01")) if total else Decimal("0")
        moves.append(GradeMove(customer, amount, share, customer.grade or "", grade))
    return moves


@transaction.atomic
def apply_grading(*, actor=None, day=None):
    """Apply the grading rule and return the ``GradeMove`` list of customers that changed.

    ``actor`` is None when the scheduled command runs; otherwise only a
    manager or administrator may apply the rule.
    """
    if actor is not None and not actor.has_role(*RULE_ROLES):
        raise NotPermitted(_("Only a manager can apply the grading rule."))
    settings = GradingSettings.current()
    moves = [move for move in grading_preview(settings, day) if move.moves]
    locked = Customer.objects.select_for_update().in_bulk([move.customer.pk for move in moves])
    reason_params = {"a": str(settings.grade_a_share), "b": str(settings.grade_b_share), "months": settings.months}
    reason = GradeChange(reason_code="grading_rule", reason_params=reason_params).reason_text
    for move in moves:
        customer = locked[move.customer.pk]
        GradeChange.objects.create(
            customer=customer,
            old_category=customer.category,
            new_category=customer.category,
            old_grade=customer.grade or "",
            new_grade=move.new_grade,
            source=GradeChangeSource.RULE,
            reason=reason,
            reason_code="grading_rule",
            reason_params=reason_params,
            net_sales=move.net_sales,
            changed_by=actor,
        )
        customer.grade = move.new_grade
        customer.save(update_fields=["grade", "updated_at"])
    logger.info("Grading rule applied by %s: %d customers changed grade", getattr(actor, "pk", "scheduler"), len(moves))
    return moves


@transaction.atomic
def set_grade(*, actor, customer, category, grade, reason):
    """Set a customer's category and grade by hand; the reason is required and kept with the change."""
    if not actor.has_role(*GRADE_ROLES):
        raise NotPermitted(_("Only a supervisor or manager can change a customer's grade."))
    customer = visible_customers(actor).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if customer is None:
        raise InvalidInput(_("Customer not found."), code="not_found")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the category or grade changes."), field="reason")
    if category not in CustomerCategory.values:
        raise InvalidInput(_("“%(value)s” is not a customer category.") % {"value": category}, field="category")
    grade = grade or ""
    if category == CustomerCategory.POTENTIAL:
        grade = ""
    elif grade not in CustomerGrade.values:
        raise InvalidInput(
            _("“%(value)s” is not a grade; key and general customers need grade A, B or C.") % {"value": grade},
            field="grade",
        )
    if category == customer.category and grade == (customer.grade or ""):
        raise InvalidInput(_("The customer already has this category and grade."), field="grade")
    change = GradeChange(
        customer=customer,
        old_category=customer.category,
        new_category=category,
        old_grade=customer.grade or "",
        new_grade=grade,
        source=GradeChangeSource.MANUAL,
        reason=reason,
        changed_by=actor,
    )
    clean_model(change, exclude=["customer", "changed_by"])
    change.save()
    old_category = customer.category
    customer.category = category
    customer.grade = grade or None
    customer.save(update_fields=["category", "grade", "updated_at"])
    # The pipeline record follows the category: won when a potential
    # customer becomes a customer, open again when it becomes potential.
    from dentalsales.crm.services.prospects import follow_category_change

    follow_category_change(actor=actor, customer=customer, old_category=old_category, reason=reason)
    logger.info("Grade of customer %s set to %s/%s by user %s", customer.pk, category, grade, actor.pk)
    return change


@transaction.atomic
def save_grading_settings(*, actor, grade_a_share, grade_b_share, months):
    if not actor.has_role(*RULE_ROLES):
        raise NotPermitted(_("Only a manager can change the grading rule."))
    settings = GradingSettings.objects.select_for_update().order_by("pk").first() or GradingSettings()
    settings.grade_a_share = grade_a_share
    settings.grade_b_share = grade_b_share
    settings.months = months
    settings.updated_by = actor
    clean_model(settings, exclude=["updated_by"])
    if settings.grade_b_share <= settings.grade_a_share:
        raise InvalidInput(
            _("The A and B share (%(b)s%%) must be larger than the A share (%(a)s%%).")
            % {"a": settings.grade_a_share, "b": settings.grade_b_share},
            field="grade_b_share",
        )
    settings.save()
    return settings
