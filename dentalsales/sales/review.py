"""The order review checklist the supervisor sees before approving.

Hard checks (``blocking=True``) stop approval; a failed soft check needs a
written reason from the reviewer.
"""

from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from dentalsales.core.errors import join_reasons
from dentalsales.core.money import format_price
from dentalsales.core.timeutils import local_today
from dentalsales.customers.compliance import pending_qualifications, qualification_problems, scope_problems
from dentalsales.finance.selectors import evaluate_credit, open_order_value
from dentalsales.inventory.selectors import eligible_available_by_product
from dentalsales.pricing.resolver import approval_level, authority_table

from .models import OrderStatus, SalesOrder

ROLE_NAMES = {"supervisor": pgettext_lazy("approver", "supervisor"), "manager": pgettext_lazy("approver", "manager")}


@dataclass(frozen=True)
class ReviewCheck:
    code: str
    passed: bool
    blocking: bool
    message: str

    def as_dict(self):
        return asdict(self)


def _qualifications(order, lines):
    held = list(order.customer.qualifications.prefetch_related("categories__parent"))
    products = [line.product for line in lines]
    problems = qualification_problems(order.customer, {product.device_class for product in products}, qualifications=held)
    problems += scope_problems(order.customer, products, qualifications=held)
    waiting = pending_qualifications(order.customer, qualifications=held, except_named_in=problems)
    waiting_note = ""
    if waiting:
        waiting_note = _("Waiting for the quality officer's verification: %(items)s.") % {
            "items": join_reasons(f"{q.get_kind_display()} {q.number}" for q in waiting)
        }
    if problems:
        return ReviewCheck("qualifications", False, True, " ".join([*problems, waiting_note]).strip())
    message = _("Customer qualifications are valid.")
    return ReviewCheck("qualifications", True, True, f"{message} {waiting_note}".strip())


def _registrations(order, lines):
    today = local_today()
    bad = []
    for line in lines:
        product = line.product
        if not product.is_active:
            bad.append(_("%(product)s is no longer sold") % {"product": product})
        elif not product.registration_valid_on(today):
            bad.append(
                _("%(product)s: registration %(number)s expired on %(date)s")
                % {"product": product, "number": product.registration_number, "date": product.registration_valid_until}
            )
    if bad:
        return ReviewCheck(
            "registrations", False, True, _("Products that cannot be sold: %(lines)s.") % {"lines": join_reasons(bad)}
        )
    return ReviewCheck("registrations", True, True, _("Every product's registration is valid."))


def open_order_exposure(customer, exclude_order=None):
    """Return the value of the customer's approved orders not yet shipped (only the unshipped part)."""
    return open_order_value(customer, exclude_order=exclude_order)


def credit_check(order):
    """Run the credit check alone, also for actions that raise exposure again (resubmitting a rejected order)."""
    passed, message = evaluate_credit(order.customer, order_amount=order.total_amount, exclude_order=order)
    return ReviewCheck("credit", passed, True, message)


def price_approvals(order, lines):
    """Return ``[(line, level)]`` for lines priced below the owner's discount authority; level is supervisor or manager."""
    table = authority_table()
    owner_roles = order.owner.roles
    result = []
    for line in lines:
        level = approval_level(
            unit_price=line.unit_price,
            list_price=line.list_price,
            product=line.product,
            owner_roles=owner_roles,
            resolved_price=line.resolved_unit_price,
            table=table,
        )
        if level is not None:
            result.append((line, level))
    return result


def _prices(order, lines):
    approvals = price_approvals(order, lines)
    if not approvals:
        return ReviewCheck("price", True, False, _("Every price is within the representative's discount authority."))
    described = [
        _("%(product)s at %(price)s, %(share)s%% of list price %(list)s, needs the %(role)s's approval")
        % {
            "product": line.product,
            "price": format_price(line.unit_price),
            "list": format_price(line.list_price),
            # Two decimals, so that 89.997% does not read as an allowed 90.0%.
            "share": (line.unit_price / line.list_price * 100).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            if line.list_price
            else "0",
            "role": ROLE_NAMES[level],
        }
        for line, level in approvals
    ]
    return ReviewCheck(
        "price", False, False, _("Below the representative's discount authority: %(lines)s.") % {"lines": join_reasons(described)}
    )


def price_check(order, lines):
    """Run the discount authority check on ``lines`` alone, as order review does on every line."""
    return _prices(order, lines)


def _stock(order, lines):
    needed = {}
    for line in lines:
        needed[line.product_id] = needed.get(line.product_id, 0) + line.unshipped_quantity
    available = eligible_available_by_product(list(needed), order.customer.min_shelf_life_days)
    products = {line.product_id: line.product for line in lines}
    short = [
        _("%(product)s: %(needed)s needed, %(available)s available")
        % {"product": products[pid], "needed": quantity, "available": available.get(pid, 0)}
        for pid, quantity in needed.items()
        if available.get(pid, 0) < quantity
    ]
    if short:
        return ReviewCheck(
            "stock",
            False,
            False,
            _("Not enough stock with at least %(days)s days of shelf life left: %(lines)s.")
            % {"days": order.customer.min_shelf_life_days, "lines": join_reasons(short)},
        )
    return ReviewCheck(
        "stock",
        True,
        False,
        _("Stock with at least %(days)s days of shelf life left covers every line.") % {"days": order.customer.min_shelf_life_days},
    )


def _duplicate(order, lines):
    window_start = order.order_date.toordinal() - settings.DUPLICATE_ORDER_WINDOW_DAYS
    signature = sorted((line.product_id, line.quantity) for line in lines)
    candidates = (
        SalesOrder.objects.filter(customer=order.customer)
        .exclude(pk=order.pk)
        .exclude(status__in=[OrderStatus.CANCELLED])
        .filter(Q(order_date__gte=order.order_date.fromordinal(window_start)))
        .prefetch_related("lines")
    )
    for other in candidates:
        if sorted((line.product_id, line.quantity) for line in other.lines.all()) == signature:
            return ReviewCheck(
                "duplicate",
                False,
                False,
                _("Order %(number)s of %(date)s has the same products and quantities; it may be a duplicate.")
                % {"number": other.number, "date": other.order_date},
            )
    return ReviewCheck(
        "duplicate",
        True,
        False,
        _("No order with the same lines in the last %(days)s days.") % {"days": settings.DUPLICATE_ORDER_WINDOW_DAYS},
    )


def review_checks(order):
    """Compute the review checklist of ``order`` as a list of ``ReviewCheck``, hard checks first."""
    lines = list(order.lines.select_related("product__category", "product__category__parent"))
    return [
        _qualifications(order, lines),
        _registrations(order, lines),
        credit_check(order),
        _prices(order, lines),
        _stock(order, lines),
        _duplicate(order, lines),
    ]
