"""Sales contracts: reads scoped to the user, every write, and orders that draw down a contract.

A contract moves draft → under review → signed → active → completed, or
is terminated with a reason, or expires after its end date. The
supervisor's approval of the review signs it, unless the contract is above
``CONTRACT_MANAGER_REVIEW_AMOUNT`` or prices a line below the supervisor's
discount authority: then it waits for a manager's approval as well. It
becomes active once the counter-signed copy is attached, and logistics and
finance are notified. Orders
against an active contract take their quantities from its lines at the
contract's prices, never more than a line has left. Each write locks the
contract row first, then its lines in primary-key order.
"""

import datetime
import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES, Role
from dentalsales.accounts.selectors import owner_visibility
from dentalsales.catalog.models import Product
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted, join_reasons
from dentalsales.core.money import format_money, format_price, line_amount, round_money
from dentalsales.core.services import next_document_number
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer
from dentalsales.customers.selectors import visible_customers
from dentalsales.notifications.services import notify, users_with_roles
from dentalsales.pricing.resolver import approval_level, authority_table, resolve_prices

from . import services as order_services
from .models import (
    Contract,
    ContractDrawdown,
    ContractLine,
    ContractStatus,
    OrderChannel,
    QuotationStatus,
)

logger = logging.getLogger(__name__)

C = ContractStatus
HEADER_FIELDS = ("start_date", "end_date", "payment_terms", "quality_terms", "note")
MAX_SIGNED_COPY_BYTES = 10 * 1024 * 1024
# File signatures of the accepted scan formats, checked on the content, not the name.
SIGNED_COPY_SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}


# Reads


def visible_contracts(user):
    return Contract.objects.filter(owner_visibility(user))


def contract_list(user, *, status="", search=""):
    queryset = visible_contracts(user).select_related("customer", "owner")
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(number__icontains=search) | queryset.filter(
            customer__search_text__contains=search.lower()
        )
    return queryset.order_by("-start_date", "-number")


def contracts_awaiting_review(user):
    """Return the contracts ``user`` could approve now: under review for supervisors, also awaiting a manager for managers."""
    statuses = [C.UNDER_REVIEW]
    if user.has_role(Role.MANAGER):
        statuses.append(C.MANAGER_REVIEW)
    return (
        visible_contracts(user)
        .filter(status__in=statuses)
        .exclude(created_by=user)
        .exclude(supervisor_approved_by=user)
        .select_related("customer", "owner")
        .order_by("updated_at", "number")
    )


def allowed_actions(contract, user):
    """Return the actions ``user`` may attempt on ``contract`` now (for buttons and API hints)."""
    actions = []
    is_sales = user.has_role(*SALES_ROLES)
    if contract.status == C.DRAFT and is_sales:
        actions += ["edit", "submit"]
    if contract.status == C.UNDER_REVIEW and user.has_role(*REVIEW_ROLES) and contract.created_by_id != user.pk:
        actions += ["approve", "reject"]
    if (
        contract.status == C.MANAGER_REVIEW
        and user.has_role(Role.MANAGER)
        and user.pk not in (contract.created_by_id, contract.supervisor_approved_by_id)
    ):
        actions += ["approve", "reject"]
    if contract.status == C.SIGNED and is_sales:
        actions.append("attach")
    if contract.status == C.SIGNED and is_sales:
        actions.append("activate")
    if contract.status == C.ACTIVE and is_sales:
        actions += ["order", "complete"]
    if contract.status in (C.SIGNED, C.ACTIVE) and user.has_role(*REVIEW_ROLES):
        actions.append("terminate")
    return actions


def price_review(contract, lines):
    """Return, per line id, the list price, the policy price, the share of list price and who must approve the price.

    ``approval`` is None, ``"supervisor"`` or ``"manager"``, as for order
    lines: a line at or above the customer's policy price on the
    contract's start date needs no approval.
    """
    if not lines:
        return {}
    quantities = {}
    for line in lines:
        quantities[line.product] = quantities.get(line.product, 0) + line.quantity
    policy = resolve_prices(customer=contract.customer, quantities=quantities, on_date=contract.start_date)
    table = authority_table()
    owner_roles = contract.owner.roles
    review = {}
    for line in lines:
        list_price = line.product.list_price
        policy_price = policy[line.product_id].unit_price
        review[line.pk] = {
            "list_price": list_price,
            "policy_price": policy_price,
            "share": (line.unit_price / list_price * 100).quantize(Decimal("0.1")) if list_price else None,
            "approval": approval_level(
                unit_price=line.unit_price,
                list_price=list_price,
                product=line.product,
                owner_roles=owner_roles,
                resolved_price=policy_price,
                table=table,
            ),
        }
    return review


def manager_review_reasons(contract, lines=None, review=None):
    """Return why the contract needs a manager's approval besides the supervisor's; empty when it does not.

    A manager must approve a contract whose total is above
    ``CONTRACT_MANAGER_REVIEW_AMOUNT``, or one with a line priced below the
    supervisor's discount authority.
    """
    lines = list(contract.lines.select_related("product")) if lines is None else lines
    review = price_review(contract, lines) if review is None else review
    reasons = []
    threshold = settings.CONTRACT_MANAGER_REVIEW_AMOUNT
    if contract.total_amount > threshold:
        reasons.append(
            _("The total %(total)s is above %(threshold)s.")
            % {"total": format_money(contract.total_amount), "threshold": format_money(threshold)}
        )
    for line in lines:
        if review[line.pk]["approval"] == "manager":
            reasons.append(
                _("%(product)s at %(price)s is below the supervisor's discount authority (list price %(list)s).")
                % {
                    "product": line.product,
                    "price": format_price(line.unit_price),
                    "list": format_price(line.product.list_price),
                }
            )
    return reasons


def lines_with_progress(contract=None):
    """Return contract lines with what their ``shipped_quantity`` reads prefetched (three queries in all)."""
    queryset = ContractLine.objects.select_related("product").prefetch_related(
        Prefetch("drawdowns", queryset=ContractDrawdown.objects.select_related("order_line"))
    )
    if contract is not None:
        queryset = queryset.filter(contract=contract)
    return queryset.order_by("pk")


def contract_orders(contract):
    """Return the orders drawn from the contract, newest first."""
    from .models import SalesOrder

    return (
        SalesOrder.objects.filter(lines__contract_drawdown__contract_line__contract=contract)
        .distinct()
        .order_by("-order_date", "-number")
    )


def _reviewers_for(contract):
    """Return who reviews the contract: the owner's team supervisor, or every supervisor when the team has none."""
    team = getattr(contract.owner, "team", None)
    supervisor = getattr(team, "supervisor", None) if team else None
    if supervisor is not None and supervisor.is_active and supervisor.pk != contract.created_by_id:
        return [supervisor]
    return [user for user in users_with_roles(Role.SUPERVISOR) if user.pk != contract.created_by_id]


def _contract_link(contract):
    return reverse("sales:contract_detail", args=[contract.pk])


# Writes


def _lock(contract, actor):
    """Lock and re-read the contract; one the actor cannot see does not exist for them."""
    try:
        return visible_contracts(actor).select_for_update(of=("self",)).select_related("customer").get(pk=contract.pk)
    except Contract.DoesNotExist:
        raise InvalidInput(_("Contract not found."), code="not_found") from None


def _require(actor, roles, message):
    if not actor.has_role(*roles):
        raise NotPermitted(message)


def _require_state(contract, states, message):
    """Raise ``InvalidTransition`` with ``message``, a whole sentence with the number and status placeholders."""
    if contract.status not in states:
        raise InvalidTransition(message % {"number": contract.number, "status": contract.get_status_display()})


def _as_date(value, field):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}, field=field) from None


def _apply_header(contract, fields):
    for name in HEADER_FIELDS:
        if name not in fields:
            continue
        value = fields[name]
        if name in ("start_date", "end_date"):
            value = _as_date(value, name)
            if value is None:
                message = _("Enter a start date.") if name == "start_date" else _("Enter an end date.")
                raise InvalidInput(message, field=name)
        else:
            value = "" if value is None else str(value).strip()
        setattr(contract, name, value)
    if contract.end_date < contract.start_date:
        raise InvalidInput(
            _("End date %(value)s is before the start date %(start)s.")
            % {"value": contract.end_date, "start": contract.start_date},
            field="end_date",
        )
    _check_not_ended(contract)


def _check_not_ended(contract):
    """Raise ``InvalidInput`` for a contract whose term ended before today: nothing could be ordered against it."""
    today = local_today()
    if contract.end_date < today:
        raise InvalidInput(
            _("End date %(value)s has already passed; a contract must run until today (%(today)s) or later.")
            % {"value": contract.end_date, "today": today},
            field="end_date",
        )


def _parse_lines(lines, contract):
    """Validate line dicts (product, quantity, optional unit_price, specification and delivery_date).

    A line without a price gets the customer's policy price on the
    contract's start date. Each product may appear on one line only, and a
    delivery date must fall within the contract's term.
    """
    if not lines:
        raise InvalidInput(_("Add at least one contract line."), field="lines")
    if len(lines) > order_services.MAX_LINES:
        raise InvalidInput(
            _("A contract may have at most %(max)s lines.") % {"max": order_services.MAX_LINES}, field="lines"
        )
    product_ids = []
    for data in lines:
        if not isinstance(data, dict):
            raise InvalidInput(_("Each contract line needs a product, a quantity and a price."), field="lines")
        product = data.get("product")
        product_ids.append(product.pk if isinstance(product, Product) else order_services._as_whole_number(product))
    products = Product.objects.in_bulk([pid for pid in product_ids if order_services._is_id(pid)])

    result = []
    errors = {}
    seen = set()
    for index, (data, product_id) in enumerate(zip(lines, product_ids)):
        prefix = f"lines[{index}]"
        product = products.get(product_id) if order_services._is_id(product_id) else None
        if product is None:
            errors[f"{prefix}.product"] = [_("Unknown product “%(value)s”.") % {"value": product_id}]
            continue
        if not product.is_active:
            errors[f"{prefix}.product"] = [_("Product “%(value)s” is no longer sold.") % {"value": product}]
            continue
        if product.pk in seen:
            errors[f"{prefix}.product"] = [
                _("Product “%(value)s” appears on more than one line; keep one line per product.") % {"value": product}
            ]
            continue
        seen.add(product.pk)
        quantity = order_services._as_whole_number(data.get("quantity"))
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= order_services.MAX_QUANTITY:
            errors[f"{prefix}.quantity"] = [
                _("Quantity must be a whole number from 1 to %(max)s, not “%(value)s”.")
                % {"value": data.get("quantity"), "max": order_services.MAX_QUANTITY}
            ]
            continue
        raw_price = data.get("unit_price")
        unit_price = None
        if raw_price not in (None, ""):
            try:
                unit_price = Decimal(str(raw_price).strip())
            except InvalidOperation:
                unit_price = Decimal("NaN")
            if (
                not unit_price.is_finite()
                or not 0 < unit_price <= order_services.MAX_UNIT_PRICE
                or unit_price.as_tuple().exponent < -4
            ):
                errors[f"{prefix}.unit_price"] = [
                    _("Price must be more than 0 and at most %(max)s with at most 4 decimal places, not “%(value)s”.")
                    % {"value": raw_price, "max": order_services.MAX_UNIT_PRICE}
                ]
                continue
        try:
            delivery_date = _as_date(data.get("delivery_date"), f"{prefix}.delivery_date")
        except InvalidInput as error:
            errors.update(error.field_errors)
            continue
        if delivery_date and not contract.start_date <= delivery_date <= contract.end_date:
            errors[f"{prefix}.delivery_date"] = [
                _("Delivery date %(value)s is outside the contract term %(start)s to %(end)s.")
                % {"value": delivery_date, "start": contract.start_date, "end": contract.end_date}
            ]
            continue
        specification = str(data.get("specification") or product.specification or "").strip()[:200]
        result.append(
            ContractLine(
                product=product,
                specification=specification,
                quantity=quantity,
                unit_price=unit_price,
                delivery_date=delivery_date,
            )
        )
    if errors:
        raise InvalidInput(field_errors=errors)

    unpriced = [line for line in result if line.unit_price is None]
    if unpriced:
        policy = resolve_prices(
            customer=contract.customer,
            quantities={line.product: line.quantity for line in unpriced},
            on_date=contract.start_date,
        )
        for line in unpriced:
            line.unit_price = policy[line.product_id].unit_price
    for line in result:
        line.amount = line_amount(line.quantity, line.unit_price)
    return result


def _save_lines(contract, lines):
    # Row by row, not in bulk, so that django-simple-history records each line.
    for old_line in contract.lines.all():
        old_line.delete()
    for line in lines:
        line.contract = contract
        line.save()
    contract.total_amount = round_money(sum((line.amount for line in lines), Decimal(0)))


def _one_year_after(day):
    # 29 February has no counterpart next year, so such a term ends on 28 February.
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


@transaction.atomic
def create_contract(*, actor, customer, lines, **fields):
    """Enter a draft contract for a customer the actor can see.

    ``start_date`` defaults to today and ``end_date`` to a year later.
    Raises ``NotPermitted`` without a sales role and ``InvalidInput``
    naming the field for an unknown or inactive customer, a bad line or a
    bad date.
    """
    _require(actor, SALES_ROLES, _("Only sales staff can enter contracts."))
    customer_id = customer.pk if isinstance(customer, Customer) else order_services._as_whole_number(customer)
    customer = visible_customers(actor).filter(pk=customer_id).first() if order_services._is_id(customer_id) else None
    if customer is None:
        raise InvalidInput(_("Unknown customer “%(value)s”.") % {"value": customer_id}, field="customer")
    if not customer.is_active:
        raise InvalidInput(_("Customer “%(value)s” is inactive.") % {"value": customer}, field="customer")

    today = local_today()
    contract = Contract(
        customer=customer,
        owner=customer.owner,
        start_date=today,
        end_date=_one_year_after(today),
        created_by=actor,
    )
    _apply_header(contract, fields)
    if not contract.payment_terms:
        contract.payment_terms = _("Payment within %(days)s days of delivery.") % {"days": customer.payment_terms_days}
    parsed = _parse_lines(lines, contract)
    contract.number = next_document_number("SC")
    contract.save()
    _save_lines(contract, parsed)
    contract.save(update_fields=["total_amount"])
    logger.info("Contract %s created by user %s", contract.pk, actor.pk)
    return contract


@transaction.atomic
def update_contract(*, actor, contract, lines=None, **fields):
    """Change a draft contract's header and, when given, replace its lines."""
    _require(actor, SALES_ROLES, _("Only sales staff can change contracts."))
    contract = _lock(contract, actor)
    _require_state(contract, {C.DRAFT}, _("Contract %(number)s is %(status)s; only a draft contract can be changed."))

    _apply_header(contract, fields)
    if lines is not None:
        _save_lines(contract, _parse_lines(lines, contract))
    contract.save()
    return contract


@transaction.atomic
def submit_contract(*, actor, contract):
    """Send a draft contract to the supervisor's review."""
    _require(actor, SALES_ROLES, _("Only sales staff can submit contracts."))
    contract = _lock(contract, actor)
    _require_state(contract, {C.DRAFT}, _("Contract %(number)s is %(status)s; only a draft contract can be submitted."))

    contract.status = C.UNDER_REVIEW
    contract.save()
    notify(
        _reviewers_for(contract),
        title=_("Contract %(number)s with %(customer)s waits for review")
        % {"number": contract.number, "customer": contract.customer},
        body=_("Total %(total)s, entered by %(name)s.")
        % {"total": format_money(contract.total_amount), "name": actor.display_name},
        link=_contract_link(contract),
        category="contract_review",
    )
    logger.info("Contract %s submitted by user %s", contract.pk, actor.pk)
    return contract


@transaction.atomic
def approve_contract(*, actor, contract):
    """Approve a contract under review; return it signed, or waiting for a manager.

    Only a supervisor or manager other than the person who entered it may
    approve. When ``manager_review_reasons`` lists anything, a supervisor's
    approval moves the contract to the manager's review, and a manager's
    approval signs it. A manager may also approve such a contract directly.
    """
    _require(actor, REVIEW_ROLES, _("Only a supervisor or manager can review contracts."))
    contract = _lock(contract, actor)
    _require_state(
        contract,
        {C.UNDER_REVIEW, C.MANAGER_REVIEW},
        _("Contract %(number)s is %(status)s; only a contract under review can be approved."),
    )
    if contract.created_by_id == actor.pk:
        raise NotPermitted(_("You entered this contract yourself; another reviewer must approve it."))
    is_manager = actor.has_role(Role.MANAGER)
    if contract.status == C.MANAGER_REVIEW:
        if not is_manager:
            raise NotPermitted(_("Contract %(number)s waits for a manager's approval.") % {"number": contract.number})
        if contract.supervisor_approved_by_id == actor.pk:
            raise NotPermitted(_("You approved this contract as supervisor; another manager must approve it."))

    now = timezone.now()
    reasons = manager_review_reasons(contract)
    if contract.status == C.UNDER_REVIEW and reasons and not is_manager:
        contract.status = C.MANAGER_REVIEW
        contract.supervisor_approved_by = actor
        contract.supervisor_approved_at = now
        contract.rejection_reason = ""
        contract.save()
        notify(
            users_with_roles(Role.MANAGER),
            title=_("Contract %(number)s waits for your approval") % {"number": contract.number},
            body=" ".join(reasons),
            link=_contract_link(contract),
            category="contract_review",
        )
        logger.info("Contract %s approved by supervisor %s, now with the managers", contract.pk, actor.pk)
        return contract

    contract.status = C.SIGNED
    contract.reviewed_by = actor
    contract.reviewed_at = now
    contract.rejection_reason = ""
    contract.save()
    notify(
        [contract.owner],
        title=_("Contract %(number)s was approved") % {"number": contract.number},
        body=_("Attach the counter-signed copy, then activate the contract."),
        link=_contract_link(contract),
        category="contract_review",
    )
    logger.info("Contract %s approved by user %s", contract.pk, actor.pk)
    return contract


@transaction.atomic
def reject_contract(*, actor, contract, reason):
    """Send a contract under review back to draft with the reason."""
    _require(actor, REVIEW_ROLES, _("Only a supervisor or manager can review contracts."))
    contract = _lock(contract, actor)
    _require_state(
        contract,
        {C.UNDER_REVIEW, C.MANAGER_REVIEW},
        _("Contract %(number)s is %(status)s; only a contract under review can be rejected."),
    )
    if contract.status == C.MANAGER_REVIEW and not actor.has_role(Role.MANAGER):
        raise NotPermitted(_("Contract %(number)s waits for a manager's approval.") % {"number": contract.number})
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for rejecting the contract."), field="reason")

    contract.status = C.DRAFT
    contract.reviewed_by = actor
    contract.reviewed_at = timezone.now()
    contract.supervisor_approved_by = None
    contract.supervisor_approved_at = None
    contract.rejection_reason = reason
    contract.save()
    notify(
        [contract.owner],
        title=_("Contract %(number)s was sent back to draft") % {"number": contract.number},
        body=reason,
        link=_contract_link(contract),
        category="contract_review",
    )
    logger.info("Contract %s rejected by user %s", contract.pk, actor.pk)
    return contract


def check_signed_copy(upload):
    """Raise ``InvalidInput`` unless ``upload`` is a PDF, JPEG or PNG file of at most 10 MB, judged by its content."""
    name = getattr(upload, "name", "") or ""
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension not in SIGNED_COPY_SIGNATURES:
        raise InvalidInput(
            _("“%(value)s” is not a PDF, JPEG or PNG file.") % {"value": name}, field="signed_copy"
        )
    if upload.size > MAX_SIGNED_COPY_BYTES:
        raise InvalidInput(
            _("“%(value)s” is larger than 10 MB; scan it at a lower resolution.") % {"value": name},
            field="signed_copy",
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(signature) for signature in SIGNED_COPY_SIGNATURES[extension]):
        raise InvalidInput(
            _("The content of “%(value)s” is not a %(kind)s file.") % {"value": name, "kind": extension[1:].upper()},
            field="signed_copy",
        )


@transaction.atomic
def attach_signed_copy(*, actor, contract, upload):
    """Attach the counter-signed scan to a signed or active contract, replacing an earlier one."""
    _require(actor, SALES_ROLES, _("Only sales staff can attach signed copies."))
    contract = _lock(contract, actor)
    # Once active, the scan is the record orders were placed against, so it can no longer be replaced.
    _require_state(
        contract,
        {C.SIGNED},
        _("Contract %(number)s is %(status)s; a signed copy can only be attached before the contract is activated."),
    )
    check_signed_copy(upload)

    contract.signed_copy.save(upload.name, upload, save=False)
    contract.save()
    logger.info("Contract %s: signed copy attached by user %s", contract.pk, actor.pk)
    return contract


@transaction.atomic
def activate_contract(*, actor, contract):
    """Make a signed contract active; the counter-signed copy must be attached first."""
    _require(actor, SALES_ROLES, _("Only sales staff can activate contracts."))
    contract = _lock(contract, actor)
    _require_state(contract, {C.SIGNED}, _("Contract %(number)s is %(status)s; only a signed contract can be activated."))
    if not contract.signed_copy:
        raise InvalidInput(_("Attach the signed copy before activating the contract."), field="signed_copy")
    _check_not_ended(contract)

    contract.status = C.ACTIVE
    contract.activated_at = timezone.now()
    contract.save()
    # Logistics plans deliveries and finance the invoicing from the active
    # contract; both get a link to its read-only page.
    notify(
        users_with_roles(Role.LOGISTICS, Role.FINANCE),
        title=_("Contract %(number)s with %(customer)s is active") % {"number": contract.number, "customer": contract.customer},
        body=_("Term %(start)s to %(end)s, total %(total)s. Payment terms: %(terms)s")
        % {
            "start": contract.start_date,
            "end": contract.end_date,
            "total": format_money(contract.total_amount),
            "terms": contract.payment_terms or "—",
        },
        link=_contract_link(contract),
        category="contract_active",
        email=True,
    )
    logger.info("Contract %s activated by user %s", contract.pk, actor.pk)
    return contract


@transaction.atomic
def complete_contract(*, actor, contract, reason=""):
    """Close an active contract as fulfilled.

    Refused while an order drawn from it is still open (not yet shipped,
    completed or cancelled). When quantities remain undrawn, ``reason``
    is required and kept as the completion note.
    """
    from .models import OrderStatus, SalesOrder

    _require(actor, SALES_ROLES, _("Only sales staff can complete contracts."))
    contract = _lock(contract, actor)
    _require_state(contract, {C.ACTIVE}, _("Contract %(number)s is %(status)s; only an active contract can be completed."))
    open_orders = list(
        SalesOrder.objects.filter(lines__contract_drawdown__contract_line__contract=contract)
        .exclude(status__in=[OrderStatus.SHIPPED, OrderStatus.COMPLETED, OrderStatus.CANCELLED])
        .values_list("number", flat=True)
        .distinct()
        .order_by("number")
    )
    if open_orders:
        raise InvalidTransition(
            _("Orders %(orders)s against contract %(number)s are still open; ship or cancel them before completing it.")
            % {"orders": join_reasons(open_orders), "number": contract.number}
        )
    remaining = sum(line.remaining_quantity for line in contract.lines.all())
    reason = (reason or "").strip()
    if remaining and not reason:
        raise InvalidInput(
            _("%(remaining)s units of contract %(number)s were never ordered; give the reason for completing it anyway.")
            % {"remaining": remaining, "number": contract.number},
            field="reason",
        )

    contract.status = C.COMPLETED
    contract.completion_note = reason
    contract.save()
    logger.info("Contract %s completed by user %s", contract.pk, actor.pk)
    return contract


@transaction.atomic
def terminate_contract(*, actor, contract, reason):
    """End a signed or active contract early, with the reason; only a supervisor or manager may."""
    _require(actor, REVIEW_ROLES, _("Only a supervisor or manager can terminate contracts."))
    contract = _lock(contract, actor)
    _require_state(
        contract,
        {C.SIGNED, C.ACTIVE},
        _("Contract %(number)s is %(status)s; only a signed or active contract can be terminated."),
    )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for terminating the contract."), field="reason")

    contract.status = C.TERMINATED
    contract.termination_reason = reason
    contract.save()
    logger.info("Contract %s terminated by user %s", contract.pk, actor.pk)
    return contract


@transaction.atomic
def create_order_from_contract(*, actor, contract, quantities, channel=OrderChannel.EMAIL, **fields):
    """Enter a draft order against an active contract at its prices, drawing down its lines.

    ``quantities`` maps contract line ids to the quantity to order. Locks
    the contract, then its lines in primary-key order, so that two orders
    cannot both take the last units. Raises ``InvalidTransition`` unless
    the contract is active and today is within its term, and
    ``InvalidInput`` naming the line when a quantity is not a whole number
    from 1 or exceeds what remains.
    """
    _require(actor, SALES_ROLES, _("Only sales staff can enter orders."))
    contract = _lock(contract, actor)
    _require_state(
        contract, {C.ACTIVE}, _("Contract %(number)s is %(status)s; orders can only be placed against an active contract.")
    )
    today = local_today()
    if not contract.start_date <= today <= contract.end_date:
        raise InvalidTransition(
            _("Contract %(number)s runs from %(start)s to %(end)s; no orders can be placed against it today.")
            % {"number": contract.number, "start": contract.start_date, "end": contract.end_date}
        )
    lines = {line.pk: line for line in contract.lines.select_for_update().select_related("product").order_by("pk")}
    if not quantities:
        raise InvalidInput(_("Enter a quantity for at least one contract line."), field="lines")

    errors = {}
    requested = []
    for key, value in quantities.items():
        line = lines.get(order_services._as_whole_number(key))
        field = f"lines[{key}]"
        if line is None:
            errors[field] = [_("Contract line “%(value)s” is not part of this contract.") % {"value": key}]
            continue
        quantity = order_services._as_whole_number(value)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            errors[field] = [_("Quantity must be a whole number of at least 1, not “%(value)s”.") % {"value": value}]
            continue
        if quantity > line.remaining_quantity:
            errors[field] = [
                _("Only %(remaining)s of %(product)s remain on the contract, not %(value)s.")
                % {"remaining": line.remaining_quantity, "product": line.product, "value": quantity}
            ]
            continue
        requested.append((line, quantity))
    if errors:
        raise InvalidInput(field_errors=errors)

    order, _created = order_services.create_order(
        actor=actor,
        customer=contract.customer,
        lines=[
            {
                "product": line.product,
                "quantity": quantity,
                "unit_price": line.unit_price,
                order_services.AGREED_PRICE_REASON: _("Contract price, %(number)s") % {"number": contract.number},
            }
            for line, quantity in requested
        ],
        channel=channel,
        customer_reference=fields.get("customer_reference") or contract.number,
        **{name: value for name, value in fields.items() if name != "customer_reference"},
    )
    for (line, quantity), order_line in zip(requested, order.lines.order_by("pk")):
        ContractDrawdown.objects.create(contract_line=line, order_line=order_line, quantity=quantity)
        line.drawn_quantity += quantity
        line.save(update_fields=["drawn_quantity"])
    logger.info("Order %s drawn from contract %s by user %s", order.pk, contract.pk, actor.pk)
    return order


@transaction.atomic
def expire_contracts(today=None):
    """Mark every signed or active contract whose end date is before ``today`` expired; return how many.

    Run daily by the ``expire_contracts`` command. The owner is notified.
    Orders already entered keep their lines; no new order can draw on an
    expired contract.
    """
    today = today or local_today()
    expired = list(
        Contract.objects.select_for_update()
        .filter(status__in=[C.SIGNED, C.ACTIVE], end_date__lt=today)
        .select_related("owner")
        .order_by("pk")
    )
    for contract in expired:
        contract.status = C.EXPIRED
        contract.save()
        notify(
            [contract.owner],
            title=_("Contract %(number)s expired on %(date)s") % {"number": contract.number, "date": contract.end_date},
            link=_contract_link(contract),
            category="contract_expired",
        )
    if expired:
        logger.info("Expired %s contracts", len(expired))
    return len(expired)


@transaction.atomic
def create_contract_from_quotation(*, actor, quotation):
    """Turn a sent, still valid quotation into a draft contract with its lines and prices, keeping the link.

    The contract starts today and runs one year; its payment terms come from
    the quotation. Locks the quotation, so it becomes one contract or one
    order, never both.
    """
    from . import quotations

    quotations._check_role(actor)
    quotation = quotations._lock(quotation, actor)
    if quotation.status != QuotationStatus.SENT:
        quotations._reject_state(
            quotation, _("Quotation %(number)s is %(status)s; only a sent quotation can be accepted.")
        )
    if quotations.is_past_validity(quotation):
        raise InvalidTransition(
            _("Quotation %(number)s was valid until %(date)s and cannot be accepted.")
            % {"number": quotation.number, "date": quotation.valid_until}
        )
    lines = [
        {
            "product": line.product,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "specification": line.product.specification,
        }
        for line in quotation.lines.select_related("product").order_by("pk")
    ]
    notes = []
    if quotation.delivery_terms:
        notes.append(_("Delivery terms: %(terms)s") % {"terms": quotation.delivery_terms})
    if quotation.note:
        notes.append(quotation.note)
    contract = create_contract(
        actor=actor,
        customer=quotation.customer,
        lines=lines,
        payment_terms=quotation.payment_terms,
        note="\n".join(notes),
    )
    contract.quotation = quotation
    contract.save(update_fields=["quotation"])
    quotation.status = QuotationStatus.ACCEPTED
    quotation.save()
    logger.info("Quotation %s accepted as contract %s by user %s", quotation.pk, contract.pk, actor.pk)
    return contract
