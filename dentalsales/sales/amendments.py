"""Changes to an order after approval: amending its lines, and reinstating it after cancellation.

Both raise the customer's credit exposure again, so both run the credit
check of order review (``review.credit_check``). A finance credit release
in force lets it pass, as it does in review. The services lock rows in the
order the other order services use: the order, the customer, the
contracts and their lines in primary-key order, then the stock balances.
"""

import logging
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted, join_reasons
from dentalsales.core.money import format_price, line_amount, round_money, tax_included
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer
from dentalsales.inventory import services as inventory
from dentalsales.pricing.resolver import resolve_prices

from . import services
from .models import Contract, ContractDrawdown, ContractLine, ContractStatus, OrderStatus, OrderStatusChange
from .review import credit_check, price_approvals, price_check, review_checks

logger = logging.getLogger(__name__)

S = OrderStatus
LINE_KEY = re.compile(r"^lines\[(\d+)\](.*)$")
# The states an order may have been cancelled from that mean it had been approved.
APPROVED_BEFORE = (S.APPROVED, S.RELEASED)


def _drawdown(line):
    """Return the line's drawdown still taken from a contract, or None."""
    try:
        drawdown = line.contract_drawdown
    except ContractDrawdown.DoesNotExist:
        return None
    return drawdown


def _parse_quantity(value):
    quantity = services._as_whole_number(value)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1 or quantity > services.MAX_QUANTITY:
        return None, _("Quantity must be a whole number from 1 to %(max)s, not “%(value)s”.") % {
            "value": value,
            "max": services.MAX_QUANTITY,
        }
    return quantity, None


def _parse_price(value):
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        return None, _("“%(value)s” is not a price.") % {"value": value}
    if not price.is_finite() or price <= 0 or price > services.MAX_UNIT_PRICE:
        return None, _("Price must be more than 0 and at most %(max)s, not “%(value)s”.") % {
            "value": value,
            "max": services.MAX_UNIT_PRICE,
        }
    if price.as_tuple().exponent < -4:
        return None, _("Price “%(value)s” has more than 4 decimal places.") % {"value": value}
    return price, None


def _parse_edits(order, current, lines):
    """Validate the line dicts of an amendment; return ``(edits, new_items)``.

    ``edits`` maps a line id to ``(index, quantity, unit_price)``, where a
    value not given keeps the line's own. ``new_items`` lists ``(index,
    data)`` for the lines to add.
    """
    if not isinstance(lines, (list, tuple)) or not lines:
        raise InvalidInput(_("Give at least one line to change or add."), field="lines")
    errors = {}
    edits = {}
    new_items = []
    for index, data in enumerate(lines):
        prefix = f"lines[{index}]"
        if not isinstance(data, dict):
            errors[prefix] = [_("Each line needs the id of an order line, or a product and a quantity.")]
            continue
        if data.get("id") in (None, ""):
            new_items.append((index, data))
            continue
        line_id = services._as_whole_number(data.get("id"))
        line = current.get(line_id) if services._is_id(line_id) else None
        if line is None:
            errors[f"{prefix}.id"] = [
                _("“%(value)s” is not a line of order %(number)s.") % {"value": data.get("id"), "number": order.number}
            ]
            continue
        if line_id in edits:
            errors[f"{prefix}.id"] = [_("Line %(value)s is given more than once.") % {"value": line_id}]
            continue

        quantity = line.quantity
        if data.get("quantity") not in (None, ""):
            quantity, error = _parse_quantity(data.get("quantity"))
            if error:
                errors[f"{prefix}.quantity"] = [error]
                continue
            if quantity < line.shipped_quantity:
                errors[f"{prefix}.quantity"] = [
                    _("%(shipped)s of %(product)s have shipped; the quantity cannot be less, not %(value)s.")
                    % {"shipped": line.shipped_quantity, "product": line.product, "value": quantity}
                ]
                continue
        unit_price = line.unit_price
        if data.get("unit_price") not in (None, ""):
            unit_price, error = _parse_price(data.get("unit_price"))
            if error:
                errors[f"{prefix}.unit_price"] = [error]
                continue
            drawdown = _drawdown(line)
            if unit_price != line.unit_price and drawdown is not None:
                errors[f"{prefix}.unit_price"] = [
                    _("%(product)s is drawn from contract %(contract)s at its price %(price)s, so its price cannot be amended.")
                    % {
                        "product": line.product,
                        "contract": drawdown.contract_line.contract.number,
                        "price": format_price(line.unit_price),
                    }
                ]
                continue
        edits[line_id] = (index, quantity, unit_price)
    if errors:
        raise InvalidInput(field_errors=errors)
    if len(current) + len(new_items) > services.MAX_LINES:
        raise InvalidInput(_("An order may have at most %(max)s lines.") % {"max": services.MAX_LINES}, field="lines")
    return edits, new_items


def _parse_new_lines(order, new_items):
    """Price the lines to add like a new order's lines; errors name the line's index in the amendment."""
    if not new_items:
        return []
    # Only these keys: a client must not pass the services' agreed-price marker.
    dicts = [{key: data.get(key) for key in ("product", "quantity", "unit_price")} for _index, data in new_items]
    try:
        return services._parse_lines(dicts, customer=order.customer, on_date=order.order_date)
    except InvalidInput as error:
        if not error.field_errors:
            raise
        remapped = {}
        for key, texts in error.field_errors.items():
            match = LINE_KEY.match(key)
            if match and int(match[1]) < len(new_items):
                key = f"lines[{new_items[int(match[1])][0]}]{match[2]}"
            remapped[key] = texts
        raise InvalidInput(field_errors=remapped) from error


def _reprice(order, repriced, all_lines):
    """Set the policy price and price reasons of lines whose unit price was amended by hand."""
    if not repriced:
        return
    totals = defaultdict(int)
    for line in all_lines:
        totals[line.product_id] += line.quantity
    products = {line.product_id: line.product for line in repriced}
    resolutions = resolve_prices(
        customer=order.customer,
        quantities={product: min(totals[pid], services.MAX_QUANTITY) for pid, product in products.items()},
        on_date=order.order_date,
    )
    for line in repriced:
        resolution = resolutions[line.product_id]
        line.resolved_unit_price = resolution.unit_price
        if line.unit_price == resolution.unit_price:
            line.price_reasons = [str(reason) for reason in resolution.reasons]
        else:
            line.price_reasons = [str(_("Price entered by hand; the policy gives %(price)s (%(reasons)s).") % {
                "price": format_price(resolution.unit_price),
                "reasons": join_reasons(resolution.reasons),
            })]


def _lock_contract_lines(contract_line_ids):
    """Lock the contracts of the given contract lines, then the lines, each in primary-key order."""
    contract_ids = set(ContractLine.objects.filter(pk__in=contract_line_ids).values_list("contract_id", flat=True))
    contracts = {c.pk: c for c in Contract.objects.select_for_update().filter(pk__in=contract_ids).order_by("pk")}
    lines = {
        line.pk: line
        for line in ContractLine.objects.select_for_update().filter(pk__in=contract_line_ids).select_related("product").order_by("pk")
    }
    for line in lines.values():
        line.contract = contracts[line.contract_id]
    return lines


def _contract_open_problem(contract):
    """Return why nothing more may be drawn from ``contract`` today, or "" when it may."""
    if contract.status != ContractStatus.ACTIVE:
        return _("Contract %(number)s is %(status)s; quantities can only be drawn from an active contract.") % {
            "number": contract.number,
            "status": contract.get_status_display(),
        }
    today = local_today()
    if not contract.start_date <= today <= contract.end_date:
        return _("Contract %(number)s runs from %(start)s to %(end)s; no orders can be placed against it today.") % {
            "number": contract.number,
            "start": contract.start_date,
            "end": contract.end_date,
        }
    return ""


def _redraw_contract_quantities(moves):
    """Apply ``[(field, drawdown, new_quantity)]`` to the drawdowns and their contract lines, under row locks.

    A larger quantity needs an active contract with that much remaining;
    a smaller one gives the difference back. Raises ``InvalidInput`` on
    ``field`` when the contract cannot supply it.
    """
    if not moves:
        return
    contract_lines = _lock_contract_lines({drawdown.contract_line_id for _field, drawdown, _quantity in moves})
    errors = {}
    for field, drawdown, quantity in moves:
        contract_line = contract_lines[drawdown.contract_line_id]
        more = quantity - drawdown.quantity
        if more > 0:
            problem = _contract_open_problem(contract_line.contract)
            if not problem and more > contract_line.remaining_quantity:
                problem = _(
                    "Only %(remaining)s more of %(product)s remain on contract %(contract)s, not %(value)s."
                ) % {
                    "remaining": contract_line.remaining_quantity,
                    "product": contract_line.product,
                    "contract": contract_line.contract.number,
                    "value": more,
                }
            if problem:
                errors[field] = [problem]
                continue
        contract_line.drawn_quantity += more
        contract_line.save(update_fields=["drawn_quantity"])
        drawdown.quantity = quantity
        drawdown.save(update_fields=["quantity"])
    if errors:
        raise InvalidInput(field_errors=errors)


def _require_manager_for(order, actor, lines):
    manager_lines = [line for line, level in price_approvals(order, lines) if level == "manager"]
    if manager_lines and not actor.has_role(Role.MANAGER, Role.ADMINISTRATOR):
        raise NotPermitted(
            _("Prices below the supervisor's discount authority need a manager's approval: %(products)s.")
            % {"products": join_reasons(str(line.product) for line in manager_lines)}
        )


def _change(line, field, old, new):
    return {"line": line.pk, "product": str(line.product), "field": field, "old": old, "new": new}


def _price_text(price):
    return format_price(price, grouping=False)


@transaction.atomic
def amend_order(*, actor, order, lines, reason):
    """Change the quantities and unit prices of an approved or released order, or add lines to it.

    ``lines`` are dicts. ``{"id", "quantity", "unit_price"}`` changes an
    existing line; a value left out keeps the line's own. ``{"product",
    "quantity", "unit_price"}`` adds a line, priced like a new order's.
    Only supervisors and managers amend, and ``reason`` is required.

    A change that raises the order total must pass the credit check, and
    the reviewer who entered the order may not raise it. Every amended or
    added price goes through the discount authority check, so a price
    below the supervisor's authority needs a manager. A line drawn from a
    contract keeps the contract's price, and a change of its quantity draws
    more from the contract line (which must be active, within its term,
    with enough remaining) or gives the difference back. A released
    order's reservations are made again for the new quantities.

    Raises ``InvalidInput`` naming ``lines[i].field``, ``InvalidTransition``
    (code ``credit_check_failed``) with the check's figures,
    ``NotPermitted`` and ``InsufficientStock``; nothing changes on any error.
    """
    order = services._lock_order(order, actor)
    services._check_transition(order, actor, "amend")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for amending the order."), field="reason")
    Customer.objects.select_for_update().filter(pk=order.customer_id).first()
    # Read before any line changes, since backorder is computed from the lines.
    had_backorder = services.order_backordered_quantity(order) > 0

    current = {
        line.pk: line
        for line in order.lines.select_related(
            "product__category", "contract_drawdown__contract_line__contract"
        ).order_by("pk")
    }
    edits, new_items = _parse_edits(order, current, lines)
    added = _parse_new_lines(order, new_items)

    changes = []
    repriced = []
    contract_moves = []
    quantities_changed = bool(added)
    changed_lines = []
    for line_id, (index, quantity, unit_price) in edits.items():
        line = current[line_id]
        if (quantity, unit_price) != (line.quantity, line.unit_price):
            changed_lines.append(line)
        if quantity != line.quantity:
            changes.append(_change(line, "quantity", str(line.quantity), str(quantity)))
            drawdown = _drawdown(line)
            if drawdown is not None and drawdown.released_at is None:
                contract_moves.append((f"lines[{index}].quantity", drawdown, quantity))
            line.quantity = quantity
            quantities_changed = True
        if unit_price != line.unit_price:
            changes.append(_change(line, "unit_price", _price_text(line.unit_price), _price_text(unit_price)))
            line.unit_price = unit_price
            repriced.append(line)
        line.amount = line_amount(line.quantity, line.unit_price)
        line.tax_amount = tax_included(line.amount, line.tax_rate)
    if not changes and not added:
        raise InvalidInput(
            _("Nothing to amend: every quantity and price is the one the order already has."), field="lines"
        )
    all_lines = [*current.values(), *added]
    _reprice(order, repriced, all_lines)

    old_total = order.total_amount
    new_total = round_money(sum((line.amount for line in all_lines), Decimal("0")))
    if new_total > services.MAX_ORDER_TOTAL:
        raise InvalidInput(_("The order total exceeds %(max)s.") % {"max": services.MAX_ORDER_TOTAL}, field="lines")
    newly_priced = [*repriced, *added]
    _require_manager_for(order, actor, newly_priced)
    checks = []
    if newly_priced:
        checks.append(price_check(order, newly_priced).as_dict())
    if new_total > old_total:
        if order.created_by_id == actor.pk:
            raise NotPermitted(_("You entered this order yourself; another reviewer must approve raising its total."))
        order.total_amount = new_total
        credit = credit_check(order)
        if not credit.passed:
            raise InvalidTransition(
                _("The amendment is refused: %(reason)s") % {"reason": credit.message}, code="credit_check_failed"
            )
        checks.insert(0, credit.as_dict())

    _redraw_contract_quantities(contract_moves)
    for line in changed_lines:
        line.save()
    for line in added:
        line.order = order
        line.save()
        changes.append(_change(line, "line", "", f"{line.quantity} × {_price_text(line.unit_price)}"))
    order.total_amount = new_total
    order.tax_amount = round_money(sum((line.tax_amount for line in all_lines), Decimal("0")))
    changes.append({"line": None, "product": "", "field": "total_amount", "old": f"{old_total:.2f}", "new": f"{new_total:.2f}"})
    if order.status == S.RELEASED and quantities_changed:
        # Reserve again from scratch: first-expiry-first-out over the new
        # quantities, and the warehouse picks from the new reservations. An
        # order released with backorder keeps a backorder for what is short.
        inventory.release_reservations(order)
        inventory.allocate_order(order, allow_partial=had_backorder)

    order.save()
    OrderStatusChange.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        action="amend",
        actor=actor,
        reason=reason,
        checks=checks,
        changes=changes,
    )
    logger.info("Order %s amended by user %s: total %s -> %s", order.pk, actor.pk, old_total, new_total)
    return order


def _status_before_cancellation(order):
    change = (
        OrderStatusChange.objects.filter(order=order, to_status=S.CANCELLED).order_by("-created_at", "-pk").first()
    )
    return change.from_status if change is not None and change.from_status else S.SUBMITTED


def _draw_again(order):
    """Take the quantities a cancelled order gave back from its contract lines again, under row locks.

    Raises ``InvalidTransition`` when a contract is no longer active or
    within its term, or no longer has the quantity.
    """
    drawdowns = list(
        ContractDrawdown.objects.filter(order_line__order=order, released_at__isnull=False).order_by("contract_line_id", "pk")
    )
    if not drawdowns:
        return
    contract_lines = _lock_contract_lines({drawdown.contract_line_id for drawdown in drawdowns})
    problems = []
    for drawdown in drawdowns:
        contract_line = contract_lines[drawdown.contract_line_id]
        problem = _contract_open_problem(contract_line.contract)
        if not problem and drawdown.quantity > contract_line.remaining_quantity:
            problem = _("Only %(remaining)s of %(product)s remain on contract %(contract)s, not %(value)s.") % {
                "remaining": contract_line.remaining_quantity,
                "product": contract_line.product,
                "contract": contract_line.contract.number,
                "value": drawdown.quantity,
            }
        if problem:
            if problem not in problems:
                problems.append(problem)
            continue
        contract_line.drawn_quantity += drawdown.quantity
        contract_line.save(update_fields=["drawn_quantity"])
        drawdown.released_at = None
        drawdown.save(update_fields=["released_at"])
    if problems:
        raise InvalidTransition(
            _("The order cannot be reinstated: %(reason)s") % {"reason": " ".join(problems)}, code="contract_exhausted"
        )


@transaction.atomic
def reinstate_order(*, actor, order, reason):
    """Bring a cancelled order back; only supervisors and managers may, with the reason.

    Runs the credit check and refuses while it fails, then the whole review
    checklist. An order cancelled after approval goes back to approved
    when every hard check passes, every price is within the actor's
    authority and the actor did not enter the order. The reason then stands
    for any failed soft check, as an approval's reason does. Otherwise the
    order goes back to submitted, for a reviewer to decide. An order cancelled before
    approval goes back to the state it was cancelled from. A released
    order's stock is not reserved again: logistics releases it anew.
    Quantities drawn from contracts are drawn again, refused when a
    contract is not active or no longer has them. Raises
    ``InvalidTransition`` (codes ``credit_check_failed``,
    ``contract_exhausted``), ``InvalidInput`` and ``NotPermitted``;
    nothing changes on any error.
    """
    order = services._lock_order(order, actor)
    services._check_transition(order, actor, "reinstate")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for reinstating the order."), field="reason")
    if order.lines.filter(shipped_quantity__gt=0).exists():
        raise InvalidTransition(
            _("Goods of order %(number)s have shipped; it cannot be reinstated.") % {"number": order.number}
        )
    Customer.objects.select_for_update().filter(pk=order.customer_id).first()

    checks = review_checks(order)
    credit = next(check for check in checks if check.code == "credit")
    if not credit.passed:
        raise InvalidTransition(
            _("The order cannot be reinstated: %(reason)s") % {"reason": credit.message}, code="credit_check_failed"
        )
    previous = _status_before_cancellation(order)
    target = previous
    if previous in APPROVED_BEFORE:
        lines = list(order.lines.select_related("product__category"))
        needs_manager = any(level == "manager" for _line, level in price_approvals(order, lines))
        approvable = (
            not any(check.blocking and not check.passed for check in checks)
            and not (needs_manager and not actor.has_role(Role.MANAGER, Role.ADMINISTRATOR))
            and order.created_by_id != actor.pk
        )
        target = S.APPROVED if approvable else S.SUBMITTED

    _draw_again(order)
    if target == S.APPROVED:
        order.review_note = reason
    OrderStatusChange.objects.create(
        order=order,
        from_status=order.status,
        to_status=target,
        action="reinstate",
        actor=actor,
        reason=reason,
        checks=[check.as_dict() for check in checks],
    )
    order.status = target
    order.save()
    logger.info("Order %s reinstated by user %s as %s", order.pk, actor.pk, target)
    return order
