"""Writes on receivables, payments, credit notes and credit releases.

Every write that changes a balance locks the customer row first and then
the receivables, payments or credit notes it reads (``select_for_update``,
in primary-key order). All balance changes of one customer therefore queue
behind each other, which rules out over-allocation and deadlocks between
finance writes. Order approval also locks the customer, after the order.
"""

import datetime
import logging
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.money import CENT, format_money, line_amount, round_money
from dentalsales.core.services import next_document_number
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer
from dentalsales.notifications.services import notify, users_with_roles

from .models import (
    CreditNote,
    CreditNoteAllocation,
    CreditRelease,
    DocumentStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    Receivable,
)

logger = logging.getLogger(__name__)

# Roles that record payments, credit notes and credit releases.
FINANCE_WRITE_ROLES = frozenset({Role.FINANCE, Role.ADMINISTRATOR})
# Bound that keeps amounts inside the DecimalField(14, 2) columns.
MAX_AMOUNT = Decimal("1000000000")
MAX_RELEASE_DAYS = 90
# A payment received more than a year ago belongs in the opening balance of
# the customer's account, not in a new payment; an older date is most often
# a typing error (1999 for 2026).
PAYMENT_MAX_AGE_DAYS = 365
ZERO = Decimal("0.00")


def require_finance(actor, message):
    if not actor.has_role(*FINANCE_WRITE_ROLES):
        raise NotPermitted(message)


def parse_amount(value, *, field="amount"):
    """Return ``value`` as a positive Decimal with at most 2 decimals, or raise ``InvalidInput`` naming it."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(_("Enter an amount."), field=field)
    text = str(value).strip()
    if isinstance(value, str) and "e" in text.lower():
        # Decimal reads "1e3" as 1000; nobody writes an amount like that on purpose.
        raise InvalidInput(
            _("“%(value)s” is not an amount: write the digits without an exponent, such as 1000.00.") % {"value": value},
            field=field,
        )
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(_("“%(value)s” is not an amount.") % {"value": value}, field=field) from None
    if not amount.is_finite():
        raise InvalidInput(_("“%(value)s” is not an amount.") % {"value": value}, field=field)
    if amount <= 0:
        raise InvalidInput(_("The amount must be greater than 0, not %(value)s.") % {"value": value}, field=field)
    if amount.as_tuple().exponent < -2:
        raise InvalidInput(
            _("The amount %(value)s has more than 2 decimal places; enter yuan and fen only.") % {"value": value},
            field=field,
        )
    if amount > MAX_AMOUNT:
        raise InvalidInput(
            _("The amount %(value)s exceeds %(max)s.") % {"value": format_money(amount), "max": format_money(MAX_AMOUNT)},
            field=field,
        )
    return amount.quantize(CENT)


def _as_id(value):
    """Return ``value`` as a positive int id, or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def lock_customer(customer):
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    customer = Customer.objects.select_for_update().filter(pk=_as_id(customer_id)).first() if _as_id(customer_id) else None
    if customer is None:
        raise InvalidInput(_("Unknown customer “%(value)s”.") % {"value": customer_id}, field="customer")
    return customer


def _locked_open_receivables(customer):
    """Lock and return the customer's receivables with an open balance, oldest first."""
    receivables = list(
        Receivable.objects.select_for_update().filter(customer=customer, open_amount__gt=0).order_by("pk")
    )
    receivables.sort(key=lambda receivable: (receivable.invoiced_on, receivable.due_on, receivable.pk))
    return receivables


def _reduce(receivable, amount, *, paid):
    if paid:
        receivable.paid_amount += amount
    else:
        receivable.credited_amount += amount
    receivable.open_amount -= amount
    receivable.save(update_fields=["paid_amount", "credited_amount", "open_amount"])


def _restore(receivable, amount, *, paid):
    if paid:
        receivable.paid_amount -= amount
    else:
        receivable.credited_amount -= amount
    receivable.open_amount += amount
    receivable.save(update_fields=["paid_amount", "credited_amount", "open_amount"])


def _allocate_oldest_first(amount, receivables):
    """Return ``[(receivable, share)]`` spreading ``amount`` over ``receivables`` in their order."""
    shares = []
    remaining = amount
    for receivable in receivables:
        if remaining <= 0:
            break
        share = min(remaining, receivable.open_amount)
        if share > 0:
            shares.append((receivable, share))
            remaining -= share
    return shares


# Receivables -------------------------------------------------------------


def shipment_value(shipment):
    """Return the tax-inclusive value of a shipment: each line's quantity at its order line's price."""
    lines = shipment.lines.select_related("order_line")
    return round_money(sum((line_amount(line.quantity, line.order_line.unit_price) for line in lines), ZERO))


@transaction.atomic
def create_receivable_for_shipment(shipment, actor):
    """Create the receivable for a shipment that has just left, due after the customer's payment terms.

    Returns the receivable, or ``None`` for a shipment without value (free
    goods). The customer's unapplied advances (payments and credit notes,
    oldest first) settle the new receivable as far as they reach. Calling it
    twice for one shipment returns the first receivable.
    """
    existing = Receivable.objects.filter(shipment=shipment).first()
    if existing is not None:
        return existing
    customer = lock_customer(shipment.customer_id)
    amount = shipment_value(shipment)
    if amount <= 0:
        logger.info("Shipment %s has no value; no receivable created", shipment.number)
        return None

    receivable = Receivable.objects.create(
        number=next_document_number("AR"),
        customer=customer,
        shipment=shipment,
        order_id=shipment.order_id,
        representative_id=shipment.order.owner_id if shipment.order_id else customer.owner_id,
        invoiced_on=shipment.shipped_on,
        due_on=shipment.shipped_on + datetime.timedelta(days=customer.payment_terms_days),
        amount=amount,
        open_amount=amount,
        created_by=actor,
    )
    apply_advances(customer, receivable)
    logger.info("Receivable %s of %s created for shipment %s", receivable.number, amount, shipment.number)
    return receivable


def apply_advances(customer, receivable):
    """Settle a new receivable from the customer's unapplied payments, then credit notes, oldest first.

    The caller holds the lock on the customer row.
    """
    payments = Payment.objects.select_for_update().filter(
        customer=customer, status=DocumentStatus.POSTED, unapplied_amount__gt=0
    ).order_by("received_on", "pk")
    for payment in payments:
        if receivable.open_amount <= 0:
            return
        share = min(payment.unapplied_amount, receivable.open_amount)
        PaymentAllocation.objects.create(
            payment=payment, receivable=receivable, amount=share, applied_on=max(receivable.invoiced_on, payment.received_on)
        )
        payment.unapplied_amount -= share
        payment.save(update_fields=["unapplied_amount"])
        _reduce(receivable, share, paid=True)
    credit_notes = CreditNote.objects.select_for_update().filter(
        customer=customer, status=DocumentStatus.POSTED, unapplied_amount__gt=0
    ).order_by("issued_on", "pk")
    for credit_note in credit_notes:
        if receivable.open_amount <= 0:
            return
        share = min(credit_note.unapplied_amount, receivable.open_amount)
        CreditNoteAllocation.objects.create(
            credit_note=credit_note,
            receivable=receivable,
            amount=share,
            applied_on=max(receivable.invoiced_on, credit_note.issued_on),
        )
        credit_note.unapplied_amount -= share
        credit_note.save(update_fields=["unapplied_amount"])
        _reduce(receivable, share, paid=False)


# Payments ----------------------------------------------------------------


def parse_date(value, field):
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}, field=field) from None


def _parse_manual_allocations(allocations, receivables_by_id, total):
    """Validate ``[{receivable, amount}]`` given by hand against the locked open receivables."""
    result = []
    errors = {}
    seen = set()
    for index, item in enumerate(allocations):
        prefix = f"allocations[{index}]"
        if not isinstance(item, dict):
            errors[f"{prefix}.receivable"] = [_("Each allocation needs a receivable and an amount.")]
            continue
        target = item.get("receivable")
        target_id = target.pk if isinstance(target, Receivable) else _as_id(target)
        receivable = receivables_by_id.get(target_id)
        if receivable is None:
            errors[f"{prefix}.receivable"] = [
                _("Receivable “%(value)s” is not an open receivable of this customer.") % {"value": item.get("receivable")}
            ]
            continue
        if target_id in seen:
            errors[f"{prefix}.receivable"] = [
                _("Receivable %(value)s is listed twice.") % {"value": receivable.number}
            ]
            continue
        seen.add(target_id)
        try:
            amount = parse_amount(item.get("amount"), field=f"{prefix}.amount")
        except InvalidInput as error:
            # The amount's own message names only the value; with several
            # receivables the user needs to know which row it belongs to.
            errors[f"{prefix}.amount"] = [
                _("Amount to allocate to receivable %(number)s: %(error)s") % {"number": receivable.number, "error": error}
            ]
            continue
        if amount > receivable.open_amount:
            errors[f"{prefix}.amount"] = [
                _("The allocation %(value)s exceeds the open balance %(open)s of receivable %(number)s.")
                % {"value": format_money(amount), "open": format_money(receivable.open_amount), "number": receivable.number}
            ]
            continue
        result.append((receivable, amount))
    if errors:
        raise InvalidInput(field_errors=errors)
    allocated = sum((amount for _receivable, amount in result), ZERO)
    if allocated > total:
        raise InvalidInput(
            _("The allocations add up to %(value)s, more than the payment amount %(amount)s.")
            % {"value": format_money(allocated), "amount": format_money(total)},
            field="allocations",
        )
    return result


def record_payment(*, actor, customer, received_on, method, amount, reference="", note="", allocations=None, idempotency_key=""):
    """Record money received from a customer and allocate it to open receivables; return the payment.

    A second call by the same user with the same non-empty
    ``idempotency_key`` returns the first payment, with ``replayed`` set to
    True, and changes nothing. Raises ``InvalidTransition`` (code
    ``idempotency_key_reused``) when that key was used for a payment with
    another customer, amount, date or method. The other rules are those of
    ``_record_payment``.
    """
    idempotency_key = (idempotency_key or "").strip()
    request = {"customer": customer, "received_on": received_on, "method": method, "amount": amount}
    existing = _payment_with_key(actor, idempotency_key)
    if existing is not None:
        return _check_replay(existing, request)
    try:
        with transaction.atomic():
            payment = _record_payment(
                actor=actor,
                customer=customer,
                received_on=received_on,
                method=method,
                amount=amount,
                reference=reference,
                note=note,
                allocations=allocations,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        # A concurrent request with the same key committed first.
        existing = _payment_with_key(actor, idempotency_key)
        if existing is None:
            raise
        return _check_replay(existing, request)
    payment.replayed = False
    return payment


def _check_replay(payment, request):
    """Return the stored ``payment`` for a repeated key, or raise when the repeat requests a different payment."""
    customer_id = _as_id(getattr(request["customer"], "pk", request["customer"]))
    try:
        amount = parse_amount(request["amount"])
        received_on = parse_date(request["received_on"], "received_on")
    except InvalidInput:
        amount = received_on = None
    if (customer_id, amount, received_on, request["method"]) != (
        payment.customer_id,
        payment.amount,
        payment.received_on,
        payment.method,
    ):
        raise InvalidTransition(
            _("The Idempotency-Key “%(key)s” was already used for payment %(number)s with different values; use a new key for a new payment.")
            % {"key": payment.idempotency_key, "number": payment.number},
            code="idempotency_key_reused",
        )
    return payment


def _payment_with_key(actor, idempotency_key):
    if not idempotency_key:
        return None
    payment = Payment.objects.filter(created_by=actor, idempotency_key=idempotency_key).first()
    if payment is not None:
        payment.replayed = True
    return payment


def _record_payment(*, actor, customer, received_on, method, amount, reference, note, allocations, idempotency_key):
    """Record money received from a customer and allocate it to open receivables; return the payment.

    Without ``allocations`` the amount settles the oldest receivables first.
    With ``allocations`` (``[{"receivable": id, "amount": "…"}]``) only
    those are settled. Whatever is left stays as an unapplied advance.

    Raises ``NotPermitted`` for roles other than finance. Raises
    ``InvalidInput`` naming the value for an amount that is not above 0 or
    has more than 2 decimals, an unknown method and a future date. It also
    raises it for an allocation to a receivable that is not open for this
    customer or above that receivable's open balance.
    """
    require_finance(actor, _("Only finance can record payments."))
    amount = parse_amount(amount)
    received_on = parse_date(received_on, "received_on")
    if received_on > local_today():
        raise InvalidInput(
            _("The receipt date %(value)s is in the future.") % {"value": received_on}, field="received_on"
        )
    earliest = local_today() - datetime.timedelta(days=PAYMENT_MAX_AGE_DAYS)
    if received_on < earliest:
        raise InvalidInput(
            _("The receipt date %(value)s is more than a year ago (earliest %(earliest)s). Money received before then belongs in the customer's opening balance.")
            % {"value": received_on, "earliest": earliest},
            field="received_on",
        )
    if method not in PaymentMethod.values:
        raise InvalidInput(
            _("“%(value)s” is not a payment method; use one of %(choices)s.")
            % {"value": method, "choices": ", ".join(PaymentMethod.values)},
            field="method",
        )
    customer = lock_customer(customer)

    receivables = _locked_open_receivables(customer)
    if allocations:
        shares = _parse_manual_allocations(allocations, {r.pk: r for r in receivables}, amount)
    else:
        shares = _allocate_oldest_first(amount, receivables)

    payment = Payment.objects.create(
        number=next_document_number("PM"),
        customer=customer,
        received_on=received_on,
        method=method,
        reference=(reference or "").strip(),
        note=(note or "").strip(),
        amount=amount,
        unapplied_amount=amount - sum((share for _receivable, share in shares), ZERO),
        created_by=actor,
        representative_id=customer.owner_id,
        idempotency_key=idempotency_key,
    )
    for receivable, share in shares:
        PaymentAllocation.objects.create(payment=payment, receivable=receivable, amount=share, applied_on=received_on)
        _reduce(receivable, share, paid=True)
    logger.info("Payment %s of %s recorded for customer %s by user %s", payment.number, amount, customer.pk, actor.pk)
    return payment


def _apply_unapplied(document, customer, allocations):
    """Return the shares of ``document``'s unapplied amount: as given, or over the oldest open receivables.

    Raises ``InvalidTransition`` (code ``nothing_to_apply``) when the
    customer has no open receivable, so that nobody is told an amount was
    allocated when nothing was.
    """
    receivables = _locked_open_receivables(customer)
    if not receivables:
        raise InvalidTransition(
            _("%(customer)s has no open receivables, so nothing was allocated; the %(amount)s of %(number)s stays unapplied.")
            % {"customer": customer.name, "amount": format_money(document.unapplied_amount), "number": document.number},
            code="nothing_to_apply",
        )
    if allocations:
        return _parse_manual_allocations(allocations, {r.pk: r for r in receivables}, document.unapplied_amount)
    return _allocate_oldest_first(document.unapplied_amount, receivables)


@transaction.atomic
def apply_payment(*, actor, payment, allocations=None):
    """Allocate a payment's unapplied advance to open receivables (oldest first, or as given); return it.

    ``payment.applied`` is the amount allocated. Raises ``InvalidTransition``
    for a reversed payment, one without unapplied amount, and a customer
    without open receivables.
    """
    require_finance(actor, _("Only finance can allocate payments."))
    customer = lock_customer(payment.customer_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != DocumentStatus.POSTED:
        raise InvalidTransition(_("Payment %(number)s is reversed.") % {"number": payment.number})
    if payment.unapplied_amount <= 0:
        raise InvalidTransition(_("Payment %(number)s has no unapplied amount.") % {"number": payment.number})

    shares = _apply_unapplied(payment, customer, allocations)
    today = local_today()
    for receivable, share in shares:
        PaymentAllocation.objects.create(payment=payment, receivable=receivable, amount=share, applied_on=today)
        _reduce(receivable, share, paid=True)
    payment.applied = sum((share for _receivable, share in shares), ZERO)
    payment.unapplied_amount -= payment.applied
    payment.save(update_fields=["unapplied_amount"])
    return payment


@transaction.atomic
def reverse_payment(*, actor, payment, reason):
    """Undo a payment recorded in error: every receivable it settled is open again by the same amount."""
    require_finance(actor, _("Only finance can reverse payments."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for reversing the payment."), field="reason")
    lock_customer(payment.customer_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == DocumentStatus.REVERSED:
        raise InvalidTransition(_("Payment %(number)s is already reversed.") % {"number": payment.number})

    allocations = list(payment.allocations.order_by("pk"))
    receivables = Receivable.objects.select_for_update().in_bulk(
        sorted({allocation.receivable_id for allocation in allocations})
    )
    for allocation in allocations:
        _restore(receivables[allocation.receivable_id], allocation.amount, paid=True)
    payment.status = DocumentStatus.REVERSED
    payment.unapplied_amount = ZERO
    payment.reversal_reason = reason
    payment.reversed_at = timezone.now()
    payment.reversed_by = actor
    payment.save()
    logger.info("Payment %s reversed by user %s", payment.number, actor.pk)
    return payment


# Credit notes ------------------------------------------------------------


def creditable_amount(receivable):
    """Return how much more may be credited against ``receivable``: its amount minus credit notes issued against it."""
    issued = (
        CreditNote.objects.filter(receivable=receivable, status=DocumentStatus.POSTED).aggregate(total=Sum("amount"))[
            "total"
        ]
        or ZERO
    )
    # round_money: SQLite sums decimals as floats.
    return receivable.amount - round_money(issued)


# What ``issue_credit_note`` does with an amount above what the receivable can still take.
CAP = "cap"
REFUSE = "refuse"


@transaction.atomic
def issue_credit_note(*, customer, amount, reason, actor, source_reference, receivable=None, over_limit=CAP):
    """Issue a credit note that reduces the customer's open receivables; return it.

    The given ``receivable`` is reduced first, then the other open
    receivables oldest first; any amount above them stays as an unapplied
    credit, like an advance. ``actor`` is the user recorded as issuer: finance,
    or the user a calling workflow authorised, such as the approver of a
    return. This service therefore checks no role.

    The credit notes issued against one receivable never add up to more than
    its invoiced amount (``creditable_amount``). With ``over_limit=CAP``, the
    workflows' default (a return must be received even when the invoice was
    already credited by hand), a larger amount is cut to what is creditable,
    finance is notified of the difference, and nothing is issued (``None``)
    when nothing is creditable. With ``over_limit=REFUSE``, for amounts typed
    by finance, it raises ``InvalidInput`` instead. The credit note's
    ``requested_amount`` is the amount asked for.

    Without ``receivable`` nothing caps the amount, so workflows pass the
    shipment's receivable; returns issue one credit note per shipment.

    Raises ``InvalidInput`` naming the value for an amount not above 0 or
    with more than 2 decimals, a missing reason and a receivable of another
    customer.
    """
    amount = parse_amount(amount)
    requested_amount = amount
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for the credit note."), field="reason")
    customer = lock_customer(customer)

    receivables = _locked_open_receivables(customer)
    if receivable is not None:
        requested = receivable
        receivable_id = _as_id(getattr(requested, "pk", requested))
        receivable = Receivable.objects.select_for_update().filter(pk=receivable_id).first() if receivable_id else None
        if receivable is None or receivable.customer_id != customer.pk:
            raise InvalidInput(
                _("Receivable “%(value)s” is not one of %(customer)s's receivables.") % {"value": requested, "customer": customer},
                field="receivable",
            )
        limit = creditable_amount(receivable)
        if amount > limit:
            if over_limit == REFUSE:
                raise InvalidInput(
                    _("The credit note amount %(value)s exceeds what can still be credited on receivable %(number)s: %(limit)s (invoiced %(invoiced)s).")
                    % {
                        "value": format_money(amount),
                        "number": receivable.number,
                        "limit": format_money(limit),
                        "invoiced": format_money(receivable.amount),
                    },
                    field="amount",
                )
            amount = max(limit, ZERO)
            _notify_credit_capped(receivable, requested_amount, amount, source_reference)
            if amount <= 0:
                return None
        receivables = [r for r in receivables if r.pk == receivable.pk] + [r for r in receivables if r.pk != receivable.pk]
    shares = _allocate_oldest_first(amount, receivables)

    credit_note = CreditNote.objects.create(
        number=next_document_number("CN"),
        customer=customer,
        receivable=receivable,
        issued_on=local_today(),
        amount=amount,
        unapplied_amount=amount - sum((share for _receivable, share in shares), ZERO),
        reason=reason,
        source_reference=(source_reference or "").strip(),
        created_by=actor,
    )
    for target, share in shares:
        CreditNoteAllocation.objects.create(credit_note=credit_note, receivable=target, amount=share, applied_on=credit_note.issued_on)
        _reduce(target, share, paid=False)
    credit_note.requested_amount = requested_amount
    logger.info("Credit note %s of %s issued for customer %s by user %s", credit_note.number, amount, customer.pk, actor.pk)
    return credit_note


def _notify_credit_capped(receivable, requested, issued, source_reference):
    """Tell finance that a workflow asked to credit more than the receivable could take."""
    params = {
        "source": source_reference or "—",
        "number": receivable.number,
        "requested": format_money(requested),
        "issued": format_money(issued),
        "difference": format_money(requested - issued),
        "invoiced": format_money(receivable.amount),
    }
    logger.warning(
        "Credit for %s on receivable %s cut from %s to %s", source_reference, receivable.number, requested, issued
    )
    notify(
        users_with_roles(Role.FINANCE),
        title=_("Credit for %(source)s cut by %(difference)s") % params,
        body=_(
            "%(source)s asked to credit %(requested)s against receivable %(number)s, but the credit notes on it may not exceed its invoiced %(invoiced)s. Credited %(issued)s; the difference of %(difference)s was not credited. Check with the customer whether it should be credited otherwise."
        )
        % params,
        link=reverse("finance:receivable_detail", args=[receivable.pk]),
        category="finance",
    )


@transaction.atomic
def apply_credit_note(*, actor, credit_note, allocations=None):
    """Allocate a credit note's unapplied amount to open receivables (oldest first, or as given); return it.

    ``credit_note.applied`` is the amount allocated. Raises
    ``InvalidTransition`` like ``apply_payment``.
    """
    require_finance(actor, _("Only finance can allocate credit notes."))
    customer = lock_customer(credit_note.customer_id)
    credit_note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    if credit_note.status != DocumentStatus.POSTED:
        raise InvalidTransition(_("Credit note %(number)s is reversed.") % {"number": credit_note.number})
    if credit_note.unapplied_amount <= 0:
        raise InvalidTransition(_("Credit note %(number)s has no unapplied amount.") % {"number": credit_note.number})

    shares = _apply_unapplied(credit_note, customer, allocations)
    today = local_today()
    for receivable, share in shares:
        CreditNoteAllocation.objects.create(credit_note=credit_note, receivable=receivable, amount=share, applied_on=today)
        _reduce(receivable, share, paid=False)
    credit_note.applied = sum((share for _receivable, share in shares), ZERO)
    credit_note.unapplied_amount -= credit_note.applied
    credit_note.save(update_fields=["unapplied_amount"])
    return credit_note


@transaction.atomic
def reverse_credit_note(*, credit_note, actor, reason):
    """Cancel a credit note: every receivable it reduced is open again by the same amount.

    Like ``issue_credit_note`` it checks no role, so that the workflow that
    issued the credit (a return being undone) can also reverse it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for reversing the credit note."), field="reason")
    lock_customer(credit_note.customer_id)
    credit_note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    if credit_note.status == DocumentStatus.REVERSED:
        raise InvalidTransition(_("Credit note %(number)s is already reversed.") % {"number": credit_note.number})

    allocations = list(credit_note.allocations.order_by("pk"))
    receivables = Receivable.objects.select_for_update().in_bulk(
        sorted({allocation.receivable_id for allocation in allocations})
    )
    for allocation in allocations:
        _restore(receivables[allocation.receivable_id], allocation.amount, paid=False)
    credit_note.status = DocumentStatus.REVERSED
    credit_note.unapplied_amount = ZERO
    credit_note.reversal_reason = reason
    credit_note.reversed_at = timezone.now()
    credit_note.reversed_by = actor
    credit_note.save()
    logger.info("Credit note %s reversed by user %s", credit_note.number, actor.pk)
    return credit_note


def record_credit_note(*, actor, customer, amount, reason, source_reference="", receivable=None):
    """Issue a credit note entered by finance by hand (a price correction or goodwill); see ``issue_credit_note``."""
    require_finance(actor, _("Only finance can issue credit notes."))
    return issue_credit_note(
        customer=customer,
        amount=amount,
        reason=reason,
        actor=actor,
        source_reference=source_reference,
        receivable=receivable,
        over_limit=REFUSE,
    )


def cancel_credit_note(*, actor, credit_note, reason):
    """Reverse a credit note on finance's request; see ``reverse_credit_note``."""
    require_finance(actor, _("Only finance can reverse credit notes."))
    return reverse_credit_note(credit_note=credit_note, actor=actor, reason=reason)


# Credit releases ---------------------------------------------------------


def _release_conflict(customer, valid_from, valid_until):
    """Return the customer's unrevoked release that overlaps the period, if any."""
    return (
        CreditRelease.objects.filter(
            customer=customer, revoked_at__isnull=True, valid_from__lte=valid_until, valid_until__gte=valid_from
        )
        .select_related("granted_by")
        .order_by("valid_from", "pk")
        .first()
    )


@transaction.atomic
def grant_credit_release(*, actor, customer, reason, valid_until, valid_from=None):
    """Let the customer's orders pass the credit check from ``valid_from`` (today) through ``valid_until``.

    A customer has at most one release at a time: a period that overlaps
    a release not revoked is refused, naming that release, so that finance
    revokes it (with a reason) before granting a different one. Raises
    ``InvalidInput`` for a missing reason, an end date in the past or
    before the start, and a period longer than ``MAX_RELEASE_DAYS``.
    """
    require_finance(actor, _("Only finance can grant credit releases."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for the credit release."), field="reason")
    today = local_today()
    valid_from = parse_date(valid_from, "valid_from") if valid_from else today
    valid_until = parse_date(valid_until, "valid_until")
    if valid_until < max(valid_from, today):
        raise InvalidInput(
            _("“Valid until” %(value)s is before the start date %(start)s.") % {"value": valid_until, "start": max(valid_from, today)},
            field="valid_until",
        )
    if (valid_until - valid_from).days > MAX_RELEASE_DAYS:
        raise InvalidInput(
            _("A credit release lasts at most %(max)s days; “Valid until” %(value)s is too late (latest %(latest)s).")
            % {"max": MAX_RELEASE_DAYS, "value": valid_until, "latest": valid_from + datetime.timedelta(days=MAX_RELEASE_DAYS)},
            field="valid_until",
        )
    customer = lock_customer(customer)
    existing = _release_conflict(customer, valid_from, valid_until)
    if existing is not None:
        raise InvalidTransition(
            _("%(customer)s already has a credit release from %(from)s to %(until)s, granted by %(user)s. Revoke it first to grant a different one.")
            % {"customer": customer.name, "from": existing.valid_from, "until": existing.valid_until, "user": existing.granted_by},
            code="release_exists",
        )

    release = CreditRelease.objects.create(
        customer=customer, reason=reason, valid_from=valid_from, valid_until=valid_until, granted_by=actor
    )
    logger.info("Credit release %s granted for customer %s by user %s", release.pk, customer.pk, actor.pk)
    notify(
        [customer.owner],
        title=_("Credit release for %(customer)s until %(date)s") % {"customer": customer, "date": valid_until},
        body=reason,
        link=reverse("finance:release_list"),
        category="finance",
    )
    return release


@transaction.atomic
def revoke_credit_release(*, actor, release, reason):
    """End a credit release early, giving the reason; the representative is told."""
    require_finance(actor, _("Only finance can revoke credit releases."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for revoking the credit release."), field="reason")
    if len(reason) > 300:
        raise InvalidInput(_("The reason is longer than 300 characters."), field="reason")
    lock_customer(release.customer_id)
    release = CreditRelease.objects.select_for_update().select_related("customer", "customer__owner").get(pk=release.pk)
    if release.revoked_at is not None:
        raise InvalidTransition(_("This credit release is already revoked."))
    release.revoked_at = timezone.now()
    release.revoked_by = actor
    release.revocation_reason = reason
    release.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
    logger.info("Credit release %s revoked by user %s", release.pk, actor.pk)
    notify(
        [release.customer.owner],
        title=_("Credit release for %(customer)s revoked") % {"customer": release.customer.name},
        body=reason,
        link=reverse("finance:release_list"),
        category="finance",
    )
    return release
