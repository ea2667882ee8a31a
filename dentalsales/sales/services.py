"""Writes on sales orders: entry, editing and every state transition.

Each transition locks the order row first (``select_for_update``), then
checks the current state against ``TRANSITIONS`` and the actor's role,
changes the order, and records an ``OrderStatusChange``. Transitions that
touch stock lock the balance rows after the order, in primary-key order.
"""

import hashlib
import json
import logging
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES, WAREHOUSE_ROLES, Role
from dentalsales.catalog.models import Product
from dentalsales.core.errors import (
    InsufficientStock,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    join_reasons,
)
from dentalsales.core.money import (
    format_price,
    line_amount,
    round_money,
    tax_included,
    to_decimal,
)
from dentalsales.core.services import next_document_number
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer, DeliveryAddress
from dentalsales.customers.selectors import visible_customers
from dentalsales.inventory import services as inventory
from dentalsales.pricing.resolver import resolve_prices

from .addresses import apply_default_address, apply_delivery_address
from .models import (
    EDITABLE_STATUSES,
    ContractDrawdown,
    ContractLine,
    OrderChannel,
    OrderStatus,
    OrderStatusChange,
    SalesOrder,
    SalesOrderLine,
)
from .review import credit_check as review_credit_check
from .review import price_approvals, review_checks
from . import selectors
from .selectors import visible_orders

logger = logging.getLogger(__name__)

S = OrderStatus
# Marks a line whose price the price policy sets.
POLICY_PRICE = object()
# Key of a line dict, set only by services (contract and quotation
# conversion), that carries why the given price is already agreed.
AGREED_PRICE_REASON = "agreed_price_reason"
# action: (states it may start from, roles allowed)
TRANSITIONS = {
    "submit": ({S.DRAFT, S.REJECTED}, SALES_ROLES),
    "approve": ({S.SUBMITTED}, REVIEW_ROLES),
    "reject": ({S.SUBMITTED}, REVIEW_ROLES),
    "release": ({S.APPROVED}, WAREHOUSE_ROLES),
    "ship": ({S.RELEASED, S.PARTIALLY_SHIPPED}, WAREHOUSE_ROLES),
    "complete": ({S.SHIPPED}, WAREHOUSE_ROLES),
    "cancel": ({S.DRAFT, S.SUBMITTED, S.REJECTED, S.APPROVED, S.RELEASED}, SALES_ROLES | WAREHOUSE_ROLES),
    # Both raise credit exposure again, so they run the credit check; see amendments.py.
    "amend": ({S.APPROVED, S.RELEASED}, REVIEW_ROLES),
    "reinstate": ({S.CANCELLED}, REVIEW_ROLES),
    # Keeps the state; offered only while a line has backordered units.
    "allocate_backorder": ({S.RELEASED, S.PARTIALLY_SHIPPED}, WAREHOUSE_ROLES),
    # A released order has shipped nothing (picking moves it to partially
    # shipped), so it is cancelled rather than closed short.
    "close_short": ({S.PARTIALLY_SHIPPED}, REVIEW_ROLES),
}
BACKORDER_STATUSES = selectors.BACKORDER_STATUSES
# Once approved, only a reviewer, a manager or logistics may cancel.
CANCEL_AFTER_APPROVAL_ROLES = REVIEW_ROLES | WAREHOUSE_ROLES
HEADER_FIELDS = ("channel", "requested_delivery_date", "delivery_address", "customer_address", "customer_reference", "note")
MAX_LINES = 200
# Bounds that keep amounts inside the DecimalField(14, 2) columns; no dental
# order comes near them.
MAX_QUANTITY = 100_000
MAX_UNIT_PRICE = Decimal("1000000")
MAX_ORDER_TOTAL = Decimal("10000000000")


def allowed_actions(order, user):
    """Return the transition names ``user`` may attempt on ``order`` now (for buttons and API hints)."""
    actions = []
    for action, (sources, roles) in TRANSITIONS.items():
        if order.status in sources and user.has_role(*roles):
            if action == "cancel" and order.status in (S.APPROVED, S.RELEASED) and not user.has_role(*CANCEL_AFTER_APPROVAL_ROLES):
                continue
            if action == "allocate_backorder" and not order_backordered_quantity(order):
                continue
            actions.append(action)
    return actions


def order_backordered_quantity(order):
    """Return the order's units neither shipped, reserved nor closed short, or 0 outside released and partially shipped.

    Uses the ``backordered_quantity`` annotation of ``selectors.with_backorders``
    when the order carries it, else runs one query.
    """
    if order.status not in BACKORDER_STATUSES:
        return 0
    annotated = getattr(order, "backordered_quantity", None)
    if annotated is not None:
        return max(annotated, 0)
    row = selectors.with_backorders(SalesOrder.objects.filter(pk=order.pk)).values_list("backordered_quantity", flat=True).first()
    return max(row or 0, 0)


def _lock_order(order, actor):
    """Lock and re-read the order; an order the actor cannot see does not exist for them."""
    try:
        return visible_orders(actor).select_for_update(of=("self",)).select_related("customer").get(pk=order.pk)
    except SalesOrder.DoesNotExist:
        raise InvalidInput(_("Order not found."), code="not_found") from None


def _check_transition(order, actor, action):
    sources, roles = TRANSITIONS[action]
    if not actor.has_role(*roles):
        raise NotPermitted(_("Your role may not %(action)s orders.") % {"action": ACTION_LABELS[action]})
    if order.status not in sources:
        raise InvalidTransition(
            _("Order %(number)s is %(status)s and cannot be %(action)s now.")
            % {"number": order.number, "status": order.get_status_display(), "action": ACTION_PAST[action]}
        )


def _record(order, actor, to_status, *, reason="", checks=None, action="", changes=None):
    change = OrderStatusChange.objects.create(
        order=order,
        from_status=order.status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        checks=checks or [],
        action=action,
        changes=changes or [],
    )
    order.status = to_status
    order.save()
    logger.info("Order %s moved %s -> %s by user %s", order.pk, change.from_status, to_status, actor.pk)
    return change


# Verb forms for messages; the translations give natural Chinese phrases.
ACTION_LABELS = {
    "submit": pgettext_lazy("order action", "submit"),
    "approve": pgettext_lazy("order action", "approve"),
    "reject": pgettext_lazy("order action", "reject"),
    "release": pgettext_lazy("order action", "release"),
    "ship": pgettext_lazy("order action", "ship"),
    "complete": pgettext_lazy("order action", "complete"),
    "cancel": pgettext_lazy("order action", "cancel"),
    "amend": pgettext_lazy("order action", "amend"),
    "reinstate": pgettext_lazy("order action", "reinstate"),
    "allocate_backorder": pgettext_lazy("order action", "allocate backorders of"),
    "close_short": pgettext_lazy("order action", "close short"),
}
ACTION_PAST = {
    "submit": pgettext_lazy("order state after action", "submitted"),
    "approve": pgettext_lazy("order state after action", "approved"),
    "reject": pgettext_lazy("order state after action", "rejected"),
    "release": pgettext_lazy("order state after action", "released"),
    "ship": pgettext_lazy("order state after action", "shipped"),
    "complete": pgettext_lazy("order state after action", "completed"),
    "cancel": pgettext_lazy("order state after action", "cancelled"),
    "amend": pgettext_lazy("order state after action", "amended"),
    "reinstate": pgettext_lazy("order state after action", "reinstated"),
    "allocate_backorder": pgettext_lazy("order state after action", "allocated"),
    "close_short": pgettext_lazy("order state after action", "closed short"),
}


def _is_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _as_whole_number(value):
    """Return ``value`` as an int when it is one (or a string of digits); otherwise return it unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value.strip())
    return value


def _parse_lines(lines, *, customer, on_date):
    """Validate line dicts (product, quantity, optional unit_price) and return ``SalesOrderLine`` objects, unsaved.

    A line without a unit price gets the price policy's price for the
    customer; the policy sees the product's total quantity over all lines.
    """
    if not lines:
        raise InvalidInput(_("Add at least one line."), field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidInput(_("An order may have at most %(max)s lines.") % {"max": MAX_LINES}, field="lines")
    product_ids = []
    for data in lines:
        if not isinstance(data, dict):
            raise InvalidInput(_("Each line needs a product and a quantity."), field="lines")
        product = data.get("product")
        product_ids.append(product.pk if isinstance(product, Product) else _as_whole_number(product))
    products = Product.objects.in_bulk([pid for pid in product_ids if _is_id(pid)])

    result = []
    errors = {}
    for index, (data, product_id) in enumerate(zip(lines, product_ids)):
        prefix = f"lines[{index}]"
        product = products.get(product_id) if _is_id(product_id) else None
        if product is None:
            errors[f"{prefix}.product"] = [_("Unknown product “%(value)s”.") % {"value": product_id}]
            continue
        if not product.is_active:
            errors[f"{prefix}.product"] = [_("Product “%(value)s” is no longer sold.") % {"value": product}]
            continue
        quantity = _as_whole_number(data.get("quantity"))
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1 or quantity > MAX_QUANTITY:
            errors[f"{prefix}.quantity"] = [
                _("Quantity must be a whole number from 1 to %(max)s, not “%(value)s”.")
                % {"value": data.get("quantity"), "max": MAX_QUANTITY}
            ]
            continue
        unit_price = data.get("unit_price")
        if unit_price in (None, ""):
            unit_price = POLICY_PRICE
        elif isinstance(unit_price, float):
            unit_price = to_decimal(unit_price)
        if unit_price is POLICY_PRICE:
            result.append(
                SalesOrderLine(
                    product=product,
                    quantity=quantity,
                    tax_rate=product.vat_rate,
                    list_price=product.list_price,
                    unit_cost=product.standard_cost,
                )
            )
            continue
        try:
            unit_price = Decimal(str(unit_price))
        except InvalidOperation:
            errors[f"{prefix}.unit_price"] = [_("“%(value)s” is not a price.") % {"value": unit_price}]
            continue
        if not unit_price.is_finite() or unit_price <= 0 or unit_price > MAX_UNIT_PRICE:
            errors[f"{prefix}.unit_price"] = [
                _("Price must be more than 0 and at most %(max)s, not “%(value)s”.")
                % {"value": unit_price, "max": MAX_UNIT_PRICE}
            ]
            continue
        if unit_price.as_tuple().exponent < -4:
            errors[f"{prefix}.unit_price"] = [
                _("Price “%(value)s” has more than 4 decimal places.") % {"value": unit_price}
            ]
            continue
        line = SalesOrderLine(
            product=product,
            quantity=quantity,
            unit_price=unit_price,
            tax_rate=product.vat_rate,
            list_price=product.list_price,
            unit_cost=product.standard_cost,
        )
        # An agreed price (an active contract's, or a quotation line's policy
        # price) counts as the policy price for discount approval.
        line.agreed_price_reason = data.get(AGREED_PRICE_REASON)
        result.append(line)
    if errors:
        raise InvalidInput(field_errors=errors)

    totals = defaultdict(int)
    products = {}
    for line in result:
        totals[line.product_id] += line.quantity
        products[line.product_id] = line.product
    # Tiers only compare the total with their lower bounds, so a total above
    # the per-line maximum prices like the maximum.
    resolutions = resolve_prices(
        customer=customer,
        quantities={products[pid]: min(total, MAX_QUANTITY) for pid, total in totals.items()},
        on_date=on_date,
    )
    for line in result:
        resolution = resolutions[line.product_id]
        line.resolved_unit_price = resolution.unit_price
        if getattr(line, "agreed_price_reason", None):
            line.resolved_unit_price = line.unit_price
            line.price_reasons = [str(line.agreed_price_reason)]
        elif line.unit_price is None:
            line.unit_price = resolution.unit_price
            line.price_reasons = [str(reason) for reason in resolution.reasons]
        else:
            line.price_reasons = [str(_("Price entered by hand; the policy gives %(price)s (%(reasons)s).") % {
                "price": format_price(resolution.unit_price),
                "reasons": join_reasons(resolution.reasons),
            })]
        line.amount = line_amount(line.quantity, line.unit_price)
        line.tax_amount = tax_included(line.amount, line.tax_rate)
    if sum(line.amount for line in result) > MAX_ORDER_TOTAL:
        raise InvalidInput(_("The order total exceeds %(max)s.") % {"max": MAX_ORDER_TOTAL}, field="lines")
    return result


def _apply_header(order, fields):
    for name in HEADER_FIELDS:
        if name in fields and name != "customer_address":
            value = fields[name]
            setattr(order, name, value if value is not None or name == "requested_delivery_date" else "")
    if order.channel not in OrderChannel.values:
        raise InvalidInput(
            _("“%(value)s” is not an order channel; use one of %(choices)s.")
            % {"value": order.channel, "choices": ", ".join(OrderChannel.values)},
            field="channel",
        )
    if order.requested_delivery_date and order.requested_delivery_date < order.order_date:
        raise InvalidInput(
            _("Requested delivery date %(value)s is before the order date.") % {"value": order.requested_delivery_date},
            field="requested_delivery_date",
        )
    apply_delivery_address(order, fields)


def _save_lines(order, lines):
    # Row by row, not in bulk, so that django-simple-history records each line.
    for old_line in order.lines.all():
        old_line.delete()
    for line in lines:
        line.order = order
        line.save()
    order.total_amount = round_money(sum((line.amount for line in lines), Decimal("0")))
    order.tax_amount = round_money(sum((line.tax_amount for line in lines), Decimal("0")))


def create_order(*, actor, customer, lines, idempotency_key="", **fields):
    """Enter a draft order for a customer the actor can see; return ``(order, created)``.

    ``lines`` are dicts with ``product`` (a Product or its id), ``quantity``
    and optionally ``unit_price`` (default: the list price). A second call
    by the same user with the same non-empty ``idempotency_key`` returns the
    first order with ``created=False`` and changes nothing. Raises
    ``NotPermitted`` without a sales role and ``InvalidInput`` naming the
    field for an unknown or inactive customer or product, a quantity below
    1 or a price with more than 4 decimals.
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can enter orders."))
    idempotency_key = (idempotency_key or "").strip()
    fingerprint = _request_fingerprint(customer, lines, fields) if idempotency_key else ""
    if idempotency_key:
        existing = SalesOrder.objects.filter(created_by=actor, idempotency_key=idempotency_key).first()
        if existing:
            return _replay(existing, idempotency_key, fingerprint), False
    try:
        with transaction.atomic():
            return _create_order(actor, customer, lines, idempotency_key, fingerprint, fields), True
    except IntegrityError:
        # A concurrent request with the same key committed first.
        existing = SalesOrder.objects.filter(created_by=actor, idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, idempotency_key, fingerprint), False


def _request_fingerprint(customer, lines, fields):
    """Return a SHA-256 over the order request's values, the same for a resent identical request."""

    def canonical(value):
        if isinstance(value, (Customer, Product, DeliveryAddress)):
            return str(value.pk)
        if isinstance(value, Decimal) or (isinstance(value, str) and value.strip()):
            try:
                return format(Decimal(str(value).strip()).normalize(), "f")
            except InvalidOperation:
                return str(value).strip()
        return "" if value is None else str(value)

    payload = {
        "customer": canonical(customer),
        "lines": [
            {key: canonical(line.get(key)) for key in ("product", "quantity", "unit_price")} if isinstance(line, dict) else str(line)
            for line in (lines or [])
        ],
        "fields": {name: canonical(fields.get(name)) for name in HEADER_FIELDS},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _replay(order, key, fingerprint):
    if order.idempotency_fingerprint and fingerprint and order.idempotency_fingerprint != fingerprint:
        raise InvalidTransition(
            _("The Idempotency-Key “%(key)s” was already used for order %(number)s with different values; use a new key for a new order.")
            % {"key": key, "number": order.number},
            code="idempotency_key_reused",
        )
    return order


def _create_order(actor, customer, lines, idempotency_key, fingerprint, fields):
    customer_id = customer.pk if isinstance(customer, Customer) else _as_whole_number(customer)
    customer = visible_customers(actor).filter(pk=customer_id).first() if _is_id(customer_id) else None
    if customer is None:
        raise InvalidInput(_("Unknown customer “%(value)s”.") % {"value": customer_id}, field="customer")
    if not customer.is_active:
        raise InvalidInput(_("Customer “%(value)s” is inactive.") % {"value": customer}, field="customer")
    parsed_lines = _parse_lines(lines, customer=customer, on_date=local_today())
    order = SalesOrder(
        customer=customer,
        owner=customer.owner,
        order_date=local_today(),
        created_by=actor,
        idempotency_key=idempotency_key,
        idempotency_fingerprint=fingerprint,
        channel=fields.get("channel") or "",
    )
    _apply_header(order, fields)
    apply_default_address(order)

    order.number = next_document_number("SO")
    order.save()
    _save_lines(order, parsed_lines)
    order.save(update_fields=["total_amount", "tax_amount"])
    OrderStatusChange.objects.create(order=order, from_status="", to_status=S.DRAFT, actor=actor)
    logger.info("Order %s created by user %s", order.pk, actor.pk)
    return order


@transaction.atomic
def update_order(*, actor, order, lines=None, **fields):
    """Change a draft or rejected order's header and, when given, replace its lines."""
    order = _lock_order(order, actor)
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can change orders."))
    if order.status not in EDITABLE_STATUSES:
        raise InvalidTransition(
            _("Order %(number)s is %(status)s; only draft or rejected orders can be changed.")
            % {"number": order.number, "status": order.get_status_display()}
        )
    _apply_header(order, fields)
    if lines is not None:
        # The lines' quantities are drawn from the contract; changing them here would bypass its limits.
        contract_number = (
            ContractDrawdown.objects.filter(order_line__order=order)
            .values_list("contract_line__contract__number", flat=True)
            .first()
        )
        if contract_number:
            raise InvalidInput(
                _("The lines of order %(number)s are drawn from contract %(contract)s and cannot be changed; cancel the order and enter a new one from the contract.")
                % {"number": order.number, "contract": contract_number},
                field="lines",
            )
        _save_lines(order, _parse_lines(lines, customer=order.customer, on_date=order.order_date))
    order.save()
    return order


@transaction.atomic
def submit_order(*, actor, order):
    """Send a draft or rejected order to review.

    Resubmitting a rejected order runs the credit check again and raises
    ``InvalidTransition`` while it fails, so that an order rejected for
    credit comes back only once payments or a credit release allow it.
    """
    order = _lock_order(order, actor)
    _check_transition(order, actor, "submit")
    if not order.lines.exists():
        raise InvalidInput(_("Add at least one order line before submitting."), field="lines")
    if order.status == S.REJECTED:
        credit = review_credit_check(order)
        if not credit.passed:
            raise InvalidTransition(
                _("The order cannot be resubmitted: %(reason)s") % {"reason": credit.message}, code="credit_check_failed"
            )
    _record(order, actor, S.SUBMITTED)
    return order


@transaction.atomic
def approve_order(*, actor, order, reason=""):
    """Approve a submitted order after the review checklist.

    Refuses when a hard check fails, when a soft check fails and no
    ``reason`` is given, and when the reviewer entered the order
    themselves. Locks the order, then the customer, so that two approvals
    for one customer cannot both use the same credit.
    """
    order = _lock_order(order, actor)
    _check_transition(order, actor, "approve")
    if order.created_by_id == actor.pk:
        raise NotPermitted(_("You entered this order yourself; another reviewer must approve it."))
    Customer.objects.select_for_update().filter(pk=order.customer_id).first()

    checks = review_checks(order)
    hard_failures = [check for check in checks if check.blocking and not check.passed]
    if hard_failures:
        raise InvalidTransition(
            _("Approval is blocked: %(reasons)s") % {"reasons": " ".join(check.message for check in hard_failures)},
            code="review_blocked",
        )
    reason = (reason or "").strip()
    if any(not check.passed for check in checks) and not reason:
        raise InvalidInput(_("Some checks failed; give the reason for approving anyway."), field="reason")
    lines = list(order.lines.select_related("product__category"))
    manager_lines = [line for line, level in price_approvals(order, lines) if level == "manager"]
    if manager_lines and not actor.has_role(Role.MANAGER, Role.ADMINISTRATOR):
        raise NotPermitted(
            _("Prices below the supervisor's discount authority need a manager's approval: %(products)s.")
            % {"products": join_reasons(str(line.product) for line in manager_lines)}
        )

    order.review_note = reason
    _record(order, actor, S.APPROVED, reason=reason, checks=[check.as_dict() for check in checks])
    # A potential customer becomes a customer with its first approved order.
    from dentalsales.crm.services import mark_won_on_first_approval

    mark_won_on_first_approval(order, actor)
    return order


@transaction.atomic
def reject_order(*, actor, order, reason):
    """Send a submitted order back to its representative with the reason."""
    order = _lock_order(order, actor)
    _check_transition(order, actor, "reject")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for rejecting the order."), field="reason")

    order.rejection_reason = reason
    _record(order, actor, S.REJECTED, reason=reason, checks=[check.as_dict() for check in review_checks(order)])
    return order


@transaction.atomic
def release_order(*, actor, order, allow_partial=False):
    """Release an approved order to logistics, reserving its stock first-expiry-first-out; return the order.

    Without ``allow_partial`` it raises ``InsufficientStock`` and changes
    nothing when eligible stock does not cover every line. With it, the
    order is released with what is eligible reserved, even when that is
    nothing, and each line's remaining units become backorder, listed in
    the status change. The returned order carries the ``AllocationResult``
    as ``allocation``. Locks the order, then the balance rows.
    """
    order = _lock_order(order, actor)
    _check_transition(order, actor, "release")
    result = inventory.allocate_order(order, allow_partial=allow_partial)

    _record(order, actor, S.RELEASED, changes=_backorder_changes(order, result))
    if result.backordered:
        logger.info("Order %s released with %s units backordered", order.pk, result.backordered_quantity)
    order.allocation = result
    return order


def _backorder_changes(order, result):
    """Return status-change rows naming each line's backordered units after an allocation."""
    if not result.backordered:
        return []
    lines = {line.pk: line for line in order.lines.select_related("product").filter(pk__in=result.backordered)}
    return [
        {"line": line_id, "product": str(lines[line_id].product), "field": "backordered_quantity", "old": "", "new": str(quantity)}
        for line_id, quantity in sorted(result.backordered.items())
    ]


@transaction.atomic
def allocate_backorder(*, actor, order):
    """Reserve newly available stock for the order's backordered units, first-expiry-first-out; return the order.

    For a released or partially shipped order with backorder. Reserves
    what eligible stock allows and keeps the rest as backorder; the status
    stays and a status change (action ``allocate_backorder``) records the
    units reserved and still backordered per line. Raises ``NotPermitted``
    for roles other than logistics, managers and administrators,
    ``InvalidTransition`` for another state or an order without backorder,
    and ``InsufficientStock`` (nothing changed) when no eligible stock is
    there for any backordered line. The returned order carries the
    ``AllocationResult`` as ``allocation``. Locks the order, then the
    balance rows.
    """
    order = _lock_order(order, actor)
    _check_transition(order, actor, "allocate_backorder")
    if not order_backordered_quantity(order):
        raise InvalidTransition(
            _("Order %(number)s has no backordered units to allocate.") % {"number": order.number}, code="no_backorder"
        )
    result = inventory.allocate_order(order, allow_partial=True)
    if not result.allocations:
        raise InsufficientStock(
            _("No eligible stock for the backorder of order %(number)s yet (shelf life of at least %(days)s days required).")
            % {"number": order.number, "days": order.customer.min_shelf_life_days},
            code="insufficient_stock",
        )

    reserved = defaultdict(int)
    for allocation in result.allocations:
        reserved[allocation.order_line_id] += allocation.quantity
    lines = {line.pk: line for line in order.lines.select_related("product").order_by("pk")}
    changes = [
        {"line": line_id, "product": str(lines[line_id].product), "field": "reserved_quantity", "old": "", "new": str(quantity)}
        for line_id, quantity in sorted(reserved.items())
    ] + _backorder_changes(order, result)
    OrderStatusChange.objects.create(
        order=order, from_status=order.status, to_status=order.status, action="allocate_backorder", actor=actor, changes=changes
    )
    order.save(update_fields=["updated_at"])
    logger.info(
        "Order %s backorder allocated by user %s: %s units reserved, %s still backordered",
        order.pk, actor.pk, result.reserved_quantity, result.backordered_quantity,
    )
    order.allocation = result
    return order


@transaction.atomic
def ship_order(*, actor, order, carrier="", quantities=None, waybill_number="", warehouse=None):
    """Ship reserved stock from one warehouse (all of it by default); return the shipment.

    ``warehouse`` is required when the reservations are in several
    warehouses, since each shipment is one dispatch with one waybill. The
    order becomes shipped when every line is shipped in full, else
    partially shipped.
    """
    order = _lock_order(order, actor)
    _check_transition(order, actor, "ship")
    shipment = inventory.ship_allocations(
        order=order,
        actor=actor,
        quantities=quantities,
        carrier=carrier,
        waybill_number=waybill_number,
        warehouse=warehouse,
    )
    fully_shipped = all(line.unshipped_quantity <= 0 for line in order.lines.all())
    _record(order, actor, S.SHIPPED if fully_shipped else S.PARTIALLY_SHIPPED, reason=shipment.number)
    return shipment


@transaction.atomic
def complete_order(*, actor, order):
    """Close a shipped order once the customer has confirmed delivery of every shipment.

    Raises ``InvalidTransition`` naming the shipments not yet delivered
    (picked, reviewed or dispatched) and naming the products with units
    not yet shipped; units closed short do not count as unshipped. Shipments whose picking was cancelled do not count.
    Locks the order row; new shipments of the order need that lock, and
    a delivered shipment never changes again.
    """
    from dentalsales.inventory.models import ShipmentStatus

    order = _lock_order(order, actor)
    _check_transition(order, actor, "complete")
    open_shipments = list(
        order.shipments.exclude(status__in=[ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED])
        .order_by("pk")
        .values_list("number", flat=True)
    )
    if open_shipments:
        raise InvalidTransition(
            _("Order %(number)s cannot be completed: delivery of shipments %(shipments)s is not confirmed yet.")
            % {"number": order.number, "shipments": join_reasons(open_shipments)}
        )
    unshipped = [line for line in order.lines.select_related("product").order_by("pk") if line.unshipped_quantity > 0]
    if unshipped:
        raise InvalidTransition(
            _("Order %(number)s cannot be completed: %(products)s not shipped yet.")
            % {
                "number": order.number,
                "products": join_reasons(
                    _("%(quantity)s %(unit)s of “%(product)s”")
                    % {"quantity": line.unshipped_quantity, "unit": line.product.unit, "product": line.product}
                    for line in unshipped
                ),
            }
        )

    _record(order, actor, S.COMPLETED)
    return order


@transaction.atomic
def cancel_order(*, actor, order, reason):
    """Cancel an order before its first shipment, giving back every reservation and contract quantity.

    Locks the order, then its contract lines, then the balance rows.
    """
    order = _lock_order(order, actor)
    _check_transition(order, actor, "cancel")
    if order.status in (S.APPROVED, S.RELEASED) and not actor.has_role(*CANCEL_AFTER_APPROVAL_ROLES):
        raise NotPermitted(_("An approved order can only be cancelled by a supervisor, a manager or logistics."))
    if order.lines.filter(shipped_quantity__gt=0).exists():
        raise InvalidTransition(_("Goods of order %(number)s have shipped; it cannot be cancelled.") % {"number": order.number})
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for cancelling the order."), field="reason")

    # Contract lines before balance rows, the order amendments and close
    # short lock them in, so that two of these never wait on each other.
    _give_back_contract_quantities(order)
    inventory.release_reservations(order)
    order.cancellation_reason = reason
    _record(order, actor, S.CANCELLED, reason=reason)
    return order


def _give_back_contract_quantities(order):
    """Return the quantities a cancelled order drew from contracts to their lines, under row locks."""
    drawdowns = list(
        ContractDrawdown.objects.filter(order_line__order=order, released_at__isnull=True)
        .select_related("contract_line")
        .order_by("contract_line_id")
    )
    if not drawdowns:
        return
    lines = {
        line.pk: line
        for line in ContractLine.objects.select_for_update()
        .filter(pk__in={drawdown.contract_line_id for drawdown in drawdowns})
        .order_by("pk")
    }
    now = timezone.now()
    for drawdown in drawdowns:
        line = lines[drawdown.contract_line_id]
        line.drawn_quantity -= drawdown.quantity
        line.save(update_fields=["drawn_quantity"])
        drawdown.released_at = now
        drawdown.save(update_fields=["released_at"])
    logger.info("Order %s cancelled: %s contract line(s) given back", order.pk, len(drawdowns))


@transaction.atomic
def close_short_order(*, actor, order, reason):
    """Close a partially shipped order short: the units not shipped will not be delivered; return the order.

    Only supervisors and managers, with the reason, and only while no
    shipment of the order is picked or reviewed but not dispatched (those
    are dispatched or their picking cancelled first). Every line's
    unshipped units are recorded as ``closed_short_quantity``, every open
    reservation in every warehouse goes back to stock, and the units a
    line drew from a contract line are given back for the part not
    delivered. The order becomes completed when every shipment is
    delivered, else shipped, from which logistics completes it once the
    deliveries are confirmed. Closed-short units leave the customer's
    open order value (credit exposure).

    Raises ``NotPermitted`` for other roles, ``InvalidTransition`` for a
    released order (nothing shipped: cancel it instead), another state or
    a picked shipment, and ``InvalidInput`` for a missing reason. Locks
    the order, then the contract lines, then the balance rows, each by
    primary key, as amendments do.
    """
    from dentalsales.inventory.models import ShipmentStatus

    order = _lock_order(order, actor)
    if order.status == S.RELEASED and actor.has_role(*TRANSITIONS["close_short"][1]):
        raise InvalidTransition(
            _("Nothing of order %(number)s has shipped; cancel the order instead of closing it short.") % {"number": order.number}
        )
    _check_transition(order, actor, "close_short")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for closing the order short."), field="reason")
    shipments = list(order.shipments.exclude(status=ShipmentStatus.CANCELLED).order_by("pk").values_list("number", "status"))
    picked = [number for number, status in shipments if status in (ShipmentStatus.PICKED, ShipmentStatus.REVIEWED)]
    if picked:
        raise InvalidTransition(
            _("Shipments %(shipments)s of order %(number)s are picked but not dispatched; dispatch them or cancel their picking before closing the order short.")
            % {"shipments": join_reasons(picked), "number": order.number},
            code="picked_shipments",
        )

    lines = list(order.lines.select_related("product").order_by("pk"))
    closed = {line.pk: line.unshipped_quantity for line in lines if line.unshipped_quantity > 0}
    _give_back_undelivered_contract_quantities(closed)
    released = inventory.release_reservations(order)
    changes = []
    for line in lines:
        quantity = closed.get(line.pk, 0)
        if not quantity:
            continue
        old = line.closed_short_quantity
        line.closed_short_quantity += quantity
        line.save(update_fields=["closed_short_quantity"])
        changes.append(
            {"line": line.pk, "product": str(line.product), "field": "closed_short_quantity", "old": str(old), "new": str(line.closed_short_quantity)}
        )
    undelivered = any(status == ShipmentStatus.DISPATCHED for _number, status in shipments)
    _record(order, actor, S.SHIPPED if undelivered else S.COMPLETED, reason=reason, action="close_short", changes=changes)
    _notify_closed_short(order, actor, reason)
    logger.info(
        "Order %s closed short by user %s: %s units not delivered, %s reserved units released",
        order.pk, actor.pk, sum(closed.values()), released,
    )
    return order


def _give_back_undelivered_contract_quantities(closed):
    """Give back to contract lines the units of ``closed`` (order line id → units closed short) that lines drew from them."""
    drawdowns = list(
        ContractDrawdown.objects.filter(order_line_id__in=list(closed), released_at__isnull=True).order_by("contract_line_id", "pk")
    )
    if not drawdowns:
        return
    contract_lines = {
        line.pk: line
        for line in ContractLine.objects.select_for_update()
        .filter(pk__in={drawdown.contract_line_id for drawdown in drawdowns})
        .order_by("pk")
    }
    for drawdown in drawdowns:
        quantity = min(closed[drawdown.order_line_id], drawdown.quantity)
        contract_line = contract_lines[drawdown.contract_line_id]
        contract_line.drawn_quantity -= quantity
        contract_line.save(update_fields=["drawn_quantity"])
        if quantity == drawdown.quantity:
            # Nothing of the line shipped: the drawdown is given back whole, as on cancellation.
            drawdown.released_at = timezone.now()
            drawdown.save(update_fields=["released_at"])
        else:
            drawdown.quantity -= quantity
            drawdown.save(update_fields=["quantity"])


def _notify_closed_short(order, actor, reason):
    from django.urls import reverse

    from dentalsales.notifications.services import notify

    if order.owner_id == actor.pk:
        return
    owner = order.owner
    title = _("Order %(number)s was closed short") % {"number": order.number}
    link = reverse("sales:order_detail", args=[order.pk])
    transaction.on_commit(lambda: notify([owner], title=title, body=reason, link=link, category="order"))
