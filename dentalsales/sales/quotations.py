"""Quotations: reads scoped to the user, and every write.

A quotation is priced like an order, by the same line parsing and price
policy, and sent to the customer by e-mail. Then it is accepted (which
creates a draft sales order with the same lines and prices), lost, or
expired after its validity. Each write locks the quotation row first.
"""

import datetime
import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import SALES_ROLES
from dentalsales.accounts.selectors import owner_visibility
from dentalsales.core.errors import (
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    join_reasons,
)
from dentalsales.core.money import amount_in_chinese_capitals, round_money
from dentalsales.core.services import next_document_number
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer
from dentalsales.customers.selectors import visible_customers

from . import services as order_services
from .models import OrderChannel, Quotation, QuotationLine, QuotationStatus

logger = logging.getLogger(__name__)

Q = QuotationStatus
VALIDITY_DAYS = 30
HEADER_FIELDS = ("contact_name", "valid_until", "payment_terms", "delivery_terms", "note")
TEXT_LIMITS = {"contact_name": 60, "payment_terms": 300, "delivery_terms": 300}


# Reads


def visible_quotations(user):
    return Quotation.objects.filter(owner_visibility(user))


def quotation_list(user, *, status="", search=""):
    queryset = visible_quotations(user).select_related("customer", "owner")
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(number__icontains=search) | queryset.filter(
            customer__search_text__contains=search.lower()
        )
    return queryset.order_by("-quotation_date", "-number")


def allowed_actions(quotation, user):
    """Return the actions ``user`` may attempt on ``quotation`` now (for buttons and API hints)."""
    if not user.has_role(*SALES_ROLES):
        return []
    if quotation.status == Q.DRAFT:
        return ["edit", "send", "lose"]
    if quotation.status == Q.SENT:
        return ["accept", "lose"] if not is_past_validity(quotation) else ["lose"]
    return []


def is_past_validity(quotation, today=None):
    return quotation.valid_until < (today or local_today())


# Writes


def _check_role(actor):
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can work on quotations."))


def _lock(quotation, actor):
    """Lock and re-read the quotation; one the actor cannot see does not exist for them."""
    try:
        return visible_quotations(actor).select_for_update(of=("self",)).select_related("customer").get(pk=quotation.pk)
    except Quotation.DoesNotExist:
        raise InvalidInput(_("Quotation not found."), code="not_found") from None


def _reject_state(quotation, message):
    """Raise ``InvalidTransition`` with ``message``, a whole sentence with the number and status placeholders."""
    raise InvalidTransition(message % {"number": quotation.number, "status": quotation.get_status_display()})


def _apply_header(quotation, fields):
    for name in HEADER_FIELDS:
        if name not in fields:
            continue
        value = fields[name]
        if name == "valid_until":
            if value in (None, ""):
                value = quotation.quotation_date + datetime.timedelta(days=VALIDITY_DAYS)
            elif not isinstance(value, datetime.date):
                try:
                    value = datetime.date.fromisoformat(str(value))
                except ValueError:
                    raise InvalidInput(
                        _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}, field="valid_until"
                    ) from None
        else:
            value = "" if value is None else str(value).strip()
            limit = TEXT_LIMITS.get(name)
            if limit and len(value) > limit:
                raise InvalidInput(
                    _("%(field)s may have at most %(max)s characters.")
                    % {"field": Quotation._meta.get_field(name).verbose_name, "max": limit},
                    field=name,
                )
        setattr(quotation, name, value)
    if quotation.valid_until < quotation.quotation_date:
        raise InvalidInput(
            _("Valid until %(value)s is before the quotation date.") % {"value": quotation.valid_until},
            field="valid_until",
        )


def _apply_header_reporting_lines(quotation, fields, lines, customer, on_date):
    """Apply the header; when it is refused, raise its errors together with the lines' errors.

    The form then shows every problem after one save instead of the line
    errors only after the header is corrected.
    """
    try:
        _apply_header(quotation, fields)
    except InvalidInput as header_error:
        if not header_error.field_errors or lines is None:
            raise
        try:
            order_services._parse_lines(lines, customer=customer, on_date=on_date)
        except InvalidInput as line_error:
            errors = {field: list(messages) for field, messages in header_error.field_errors.items()}
            for field, messages in line_error.field_errors.items():
                errors.setdefault(field, []).extend(messages)
            raise InvalidInput(field_errors=errors) from header_error
        raise


def _save_lines(quotation, lines, customer, on_date):
    parsed = order_services._parse_lines(lines, customer=customer, on_date=on_date)
    # Row by row, not in bulk, so that django-simple-history records each line.
    for old_line in quotation.lines.all():
        old_line.delete()
    for line in parsed:
        QuotationLine.objects.create(
            quotation=quotation,
            product=line.product,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            tax_rate=line.tax_rate,
            tax_amount=line.tax_amount,
            list_price=line.list_price,
            resolved_unit_price=line.resolved_unit_price,
            price_reasons=line.price_reasons,
            unit_cost=line.unit_cost,
        )
    quotation.total_amount = round_money(sum((line.amount for line in parsed), Decimal(0)))
    quotation.tax_amount = round_money(sum((line.tax_amount for line in parsed), Decimal(0)))


@transaction.atomic
def create_quotation(*, actor, customer, lines, **fields):
    """Enter a draft quotation for a customer the actor can see, priced by the price policy.

    ``lines`` are dicts like an order's (product, quantity, optional
    unit_price). ``valid_until`` defaults to today plus 30 days. Raises
    ``NotPermitted`` without a sales role and ``InvalidInput`` naming the
    field for an unknown or inactive customer, a bad line or a bad date.
    """
    _check_role(actor)
    customer_id = customer.pk if isinstance(customer, Customer) else order_services._as_whole_number(customer)
    customer = visible_customers(actor).filter(pk=customer_id).first() if order_services._is_id(customer_id) else None
    if customer is None:
        raise InvalidInput(_("Unknown customer “%(value)s”.") % {"value": customer_id}, field="customer")
    if not customer.is_active:
        raise InvalidInput(_("Customer “%(value)s” is inactive.") % {"value": customer}, field="customer")

    today = local_today()
    quotation = Quotation(
        customer=customer,
        owner=customer.owner,
        quotation_date=today,
        valid_until=today + datetime.timedelta(days=VALIDITY_DAYS),
        payment_terms=_("Payment within %(days)s days of delivery.") % {"days": customer.payment_terms_days},
        created_by=actor,
    )
    _apply_header_reporting_lines(quotation, fields, lines, customer, today)
    quotation.number = next_document_number("QT")
    quotation.save()
    _save_lines(quotation, lines, customer, today)
    quotation.save(update_fields=["total_amount", "tax_amount"])
    logger.info("Quotation %s created by user %s", quotation.pk, actor.pk)
    return quotation


@transaction.atomic
def update_quotation(*, actor, quotation, lines=None, **fields):
    """Change a draft quotation's header and, when given, replace its lines."""
    _check_role(actor)
    quotation = _lock(quotation, actor)
    if quotation.status != Q.DRAFT:
        _reject_state(quotation, _("Quotation %(number)s is %(status)s; only a draft quotation can be changed."))

    _apply_header_reporting_lines(quotation, fields, lines, quotation.customer, quotation.quotation_date)
    if lines is not None:
        _save_lines(quotation, lines, quotation.customer, quotation.quotation_date)
    quotation.save()
    return quotation


def render_quotation_email(quotation):
    """Return (subject, text, html) of the quotation e-mail, in the site's language (Chinese)."""
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "quotation": quotation,
            "lines": list(quotation.lines.select_related("product")),
            "total_in_capitals": amount_in_chinese_capitals(quotation.total_amount),
            "company_name": settings.COMPANY_NAME,
            "company_address": settings.COMPANY_ADDRESS,
            "company_phone": settings.COMPANY_PHONE,
        }
        subject = _("Quotation %(number)s from %(company)s") % {
            "number": quotation.number,
            "company": settings.COMPANY_NAME,
        }
        html = render_to_string("sales/quotation_email.html", context)
        text = render_to_string("sales/quotation_email.txt", context)
    return subject, text, html


@transaction.atomic
def send_quotation(*, actor, quotation, email):
    """Mark a draft quotation sent and e-mail it to ``email`` once the transaction commits.

    Raises ``InvalidTransition`` unless the quotation is a draft, and
    ``InvalidInput`` for an invalid address, no lines or a validity that
    has already ended.
    """
    _check_role(actor)
    quotation = _lock(quotation, actor)
    if quotation.status != Q.DRAFT:
        _reject_state(quotation, _("Quotation %(number)s is %(status)s; only a draft quotation can be sent."))
    email = (email or "").strip()
    if not email:
        raise InvalidInput(_("Enter the customer's e-mail address."), field="email")
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(_("“%(value)s” is not an e-mail address.") % {"value": email}, field="email") from None
    if not quotation.lines.exists():
        raise InvalidInput(_("Add at least one line before sending the quotation."), field="lines")
    if is_past_validity(quotation):
        raise InvalidInput(
            _("The quotation was valid until %(date)s; set a later date before sending it.")
            % {"date": quotation.valid_until},
            field="valid_until",
        )

    quotation.status = Q.SENT
    quotation.sent_at = timezone.now()
    quotation.sent_to = email
    quotation.save()
    logger.info("Quotation %s sent by user %s", quotation.pk, actor.pk)

    subject, text, html = render_quotation_email(quotation)

    def deliver():
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [email])
        message.attach_alternative(html, "text/html")
        message.send()

    transaction.on_commit(deliver)
    return quotation


@transaction.atomic
def mark_lost(*, actor, quotation, reason):
    """Close a draft or sent quotation as lost, with the reason."""
    _check_role(actor)
    quotation = _lock(quotation, actor)
    if quotation.status not in (Q.DRAFT, Q.SENT):
        _reject_state(
            quotation, _("Quotation %(number)s is %(status)s; only a draft or sent quotation can be marked lost.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason the quotation was lost."), field="reason")

    quotation.status = Q.LOST
    quotation.lost_reason = reason
    quotation.save()
    logger.info("Quotation %s marked lost by user %s", quotation.pk, actor.pk)
    return quotation


@transaction.atomic
def expire_quotations(today=None):
    """Mark every sent quotation whose validity ended before ``today`` expired; return how many."""
    today = today or local_today()
    expired = list(
        Quotation.objects.select_for_update().filter(status=Q.SENT, valid_until__lt=today).order_by("pk")
    )
    for quotation in expired:
        quotation.status = Q.EXPIRED
        quotation.save()
    if expired:
        logger.info("Expired %s quotations", len(expired))
    return len(expired)


@transaction.atomic
def accept_quotation(*, actor, quotation, channel=OrderChannel.EMAIL):
    """Turn a sent, still valid quotation into a draft sales order with the same lines and prices.

    Returns the order. Locks the quotation, then creates the order through
    ``create_order``, whose refusals (inactive customer or product) leave
    the quotation sent.
    """
    _check_role(actor)
    quotation = _lock(quotation, actor)
    if quotation.status != Q.SENT:
        _reject_state(quotation, _("Quotation %(number)s is %(status)s; only a sent quotation can be accepted."))
    if is_past_validity(quotation):
        raise InvalidTransition(
            _("Quotation %(number)s was valid until %(date)s and cannot be accepted.")
            % {"number": quotation.number, "date": quotation.valid_until}
        )

    lines = []
    for line in quotation.lines.all():
        data = {"product": line.product_id, "quantity": line.quantity, "unit_price": line.unit_price}
        # A quoted policy price holds for the order; a hand-entered one still
        # goes through discount approval in order review.
        if line.unit_price == line.resolved_unit_price:
            data[order_services.AGREED_PRICE_REASON] = _("Quoted price, %(number)s (%(reasons)s)") % {
                "number": quotation.number,
                "reasons": join_reasons(line.price_reasons),
            }
        else:
            data[order_services.AGREED_PRICE_REASON] = None
        lines.append(data)
    order, _created = order_services.create_order(
        actor=actor,
        customer=quotation.customer,
        lines=lines,
        channel=channel,
        customer_reference=quotation.number,
        note=quotation.note,
    )
    quotation.status = Q.ACCEPTED
    quotation.order = order
    quotation.save()
    logger.info("Quotation %s accepted as order %s by user %s", quotation.pk, order.pk, actor.pk)
    return order
