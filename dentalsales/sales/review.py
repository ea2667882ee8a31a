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
from dentalsales.core.money import format_money, format_price, round_money
from dentalsales.core.timeutils import local_today
from dentalsales.customers.compliance import qualification_problems
from dentalsales.inventory.selectors import eligible_available_by_product
from dentalsales.pricing.resolver import approval_level, authority_table

from .models import OPEN_APPROVED_STATUSES, OrderStatus, SalesOrder

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
    problems = qualification_problems(order.customer, {line.product.device_class for line in lines})
    if problems:
        return ReviewCheck("qualifications", False, True, " ".join(problems))
    return ReviewCheck("qualifications", True, True, _("Customer qualifications are valid."))


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
    orders = SalesOrder.objects.filter(customer=customer, status__in=OPEN_APPROVED_STATUSES)
    if exclude_order is not None:
        orders = orders.exclude(pk=exclude_order.pk)
    total = Decimal("0")
    for order in orders.prefetch_related("lines"):
        for line in order.lines.all():
            total += line.unit_price * line.unshipped_quantity
    return round_money(total)


def _credit(order):
    # TODO: add open receivables and overdue receivables once shipments
    # create receivables; until then shipped orders no longer count.
    customer = order.customer
    open_orders = open_order_exposure(customer, exclude_order=order)
    exposure = open_orders + order.total_amount
    params = {
        "open": format_money(open_orders),
        "order": format_money(order.total_amount),
        "exposure": format_money(exposure),
        "limit": format_money(customer.credit_limit),
    }
    if exposure > customer.credit_limit:
        return ReviewCheck(
            "credit",
            False,
            True,
            _("Approved orders not yet shipped %(open)s + this order %(order)s = %(exposure)s exceeds the credit limit %(limit)s.") % params,
        )
    return ReviewCheck(
        "credit", True, True, _("Approved orders not yet shipped %(open)s + this order %(order)s = %(exposure)s, within the credit limit %(limit)s.") % params
    )


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
        _credit(order),
        _prices(order, lines),
        _stock(order, lines),
        _duplicate(order, lines),
    ]
