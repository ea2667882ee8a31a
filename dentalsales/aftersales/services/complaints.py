"""Writes on complaints: entry, editing, status changes, adverse events and escalation.

Every write locks the complaint row first (``select_for_update``) through
the actor's visible complaints, so a complaint the actor cannot see does
not exist for them.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from dentalsales.accounts.models import User
from dentalsales.accounts.roles import SALES_ROLES, Role
from dentalsales.catalog.models import Product
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.services import next_document_number
from dentalsales.core.timeutils import local_today
from dentalsales.customers.selectors import visible_customers
from dentalsales.customers.services import PHONE_PATTERN
from dentalsales.inventory.models import Lot

from ..models import (
    OPEN_COMPLAINT_STATUSES,
    AdverseEventReview,
    Complaint,
    ComplaintAction,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
    FeedbackChannel,
    Severity,
)
from ..selectors import visible_complaints
from ._common import as_id, clean_choice, clean_score, clean_text, notify, supervisors_for, users_with_roles

logger = logging.getLogger(__name__)

C = ComplaintStatus
# Sales staff handle their customers' feedback; the quality officer handles
# quality complaints and adverse events.
COMPLAINT_ROLES = SALES_ROLES | {Role.QUALITY_OFFICER}
# action: (states it may start from, state it leads to)
COMPLAINT_TRANSITIONS = {
    "start": ({C.OPEN, C.WAITING_FOR_CUSTOMER}, C.IN_PROGRESS),
    "wait": ({C.OPEN, C.IN_PROGRESS}, C.WAITING_FOR_CUSTOMER),
    "resolve": ({C.OPEN, C.IN_PROGRESS, C.WAITING_FOR_CUSTOMER}, C.RESOLVED),
    "close": ({C.RESOLVED}, C.CLOSED),
    "reopen": ({C.RESOLVED, C.CLOSED}, C.IN_PROGRESS),
}
ACTION_PAST = {
    "start": pgettext_lazy("complaint state after action", "started"),
    "wait": pgettext_lazy("complaint state after action", "put on hold for the customer"),
    "resolve": pgettext_lazy("complaint state after action", "resolved"),
    "close": pgettext_lazy("complaint state after action", "closed"),
    "reopen": pgettext_lazy("complaint state after action", "reopened"),
}
EDITABLE_FIELDS = (
    "contact_name", "contact_phone", "channel", "category", "severity", "product", "lot", "lot_number",
    "description", "owner", "root_cause",
)


def service_level_due_date(severity, received_on):
    """Return the due date of a complaint of ``severity`` received on ``received_on`` (settings.COMPLAINT_SERVICE_LEVEL_DAYS)."""
    days = settings.COMPLAINT_SERVICE_LEVEL_DAYS.get(severity, settings.COMPLAINT_SERVICE_LEVEL_DAYS.get(Severity.MEDIUM, 5))
    return received_on + datetime.timedelta(days=int(days))


def allowed_complaint_actions(complaint, user):
    """Return the action names ``user`` may attempt on ``complaint`` now (for buttons and API hints)."""
    if not user.has_role(*COMPLAINT_ROLES):
        return []
    actions = [name for name, (sources, _target) in COMPLAINT_TRANSITIONS.items() if complaint.status in sources]
    if complaint.status in OPEN_COMPLAINT_STATUSES:
        actions += ["edit", "add_action"]
        if not complaint.suspected_adverse_event:
            actions.append("flag_adverse_event")
    if complaint.adverse_event_review == AdverseEventReview.PENDING and user.has_role(Role.QUALITY_OFFICER):
        actions.append("assess")
    return actions


def _lock_complaint(complaint, actor):
    try:
        return visible_complaints(actor).select_for_update(of=("self",)).get(pk=complaint.pk)
    except Complaint.DoesNotExist:
        raise InvalidInput(_("Complaint not found."), code="not_found") from None


def _check_role(actor):
    if not actor.has_role(*COMPLAINT_ROLES):
        raise NotPermitted(_("Only sales staff and the quality officer can handle complaints."))


def _resolve_customer(actor, value):
    if value in (None, ""):
        raise InvalidInput(_("Choose the customer the feedback comes from."), field="customer")
    customer_id = as_id(value)
    customer = visible_customers(actor).filter(pk=customer_id).first() if customer_id else None
    if customer is None:
        raise InvalidInput(_("Unknown customer “%(value)s”.") % {"value": value}, field="customer")
    return customer


def _resolve_product_and_lot(product, lot, lot_number):
    """Return (product, lot) from a product id, a lot id or a lot number of the product; either may be None."""
    product_obj = None
    if product not in (None, ""):
        product_id = as_id(product)
        product_obj = Product.objects.filter(pk=product_id).first() if product_id else None
        if product_obj is None:
            raise InvalidInput(_("Unknown product “%(value)s”.") % {"value": product}, field="product")
    lot_obj = None
    if lot not in (None, ""):
        lot_id = as_id(lot)
        lot_obj = Lot.objects.select_related("product").filter(pk=lot_id).first() if lot_id else None
        if lot_obj is None:
            raise InvalidInput(_("Unknown lot “%(value)s”.") % {"value": lot}, field="lot")
    elif (lot_number or "").strip():
        if product_obj is None:
            raise InvalidInput(_("Choose the product of lot “%(value)s”.") % {"value": lot_number}, field="product")
        lot_obj = Lot.objects.filter(product=product_obj, lot_number=lot_number.strip()).first()
        if lot_obj is None:
            raise InvalidInput(
                _("Lot “%(value)s” of “%(product)s” is not on file.") % {"value": lot_number.strip(), "product": product_obj},
                field="lot_number",
            )
    if lot_obj is not None:
        if product_obj is None:
            product_obj = lot_obj.product
        elif lot_obj.product_id != product_obj.pk:
            raise InvalidInput(
                _("Lot “%(value)s” belongs to “%(lot_product)s”, not to “%(product)s”.")
                % {"value": lot_obj.lot_number, "lot_product": lot_obj.product, "product": product_obj},
                field="lot",
            )
    return product_obj, lot_obj


def _resolve_owner(value, default):
    if value in (None, ""):
        return default
    owner_id = as_id(value)
    owner = User.objects.filter(pk=owner_id, is_active=True).first() if owner_id else None
    if owner is None or not owner.has_role(*COMPLAINT_ROLES):
        raise InvalidInput(
            _("“%(value)s” cannot be responsible for a complaint; choose an active sales user or the quality officer.")
            % {"value": owner or value},
            field="owner",
        )
    return owner


def _clean_phone(value):
    phone = clean_text(value, field="contact_phone", label=_("contact phone"), max_length=30)
    if phone and not PHONE_PATTERN.match(phone):
        raise InvalidInput(
            _("“%(value)s” is not a phone number: use digits, spaces, hyphens and brackets only.") % {"value": phone},
            field="contact_phone",
        )
    return phone


def _clean_received_on(value):
    today = local_today()
    received_on = value or today
    earliest = today - datetime.timedelta(days=settings.COMPLAINT_MAX_BACKDATE_DAYS)
    if received_on > today:
        raise InvalidInput(_("The receipt date %(value)s is in the future.") % {"value": received_on}, field="received_on")
    if received_on < earliest:
        raise InvalidInput(
            _("The receipt date %(value)s is more than %(days)s days ago; enter a date from %(earliest)s on.")
            % {"value": received_on, "days": settings.COMPLAINT_MAX_BACKDATE_DAYS, "earliest": earliest},
            field="received_on",
        )
    return received_on


class _ErrorCollector:
    """Run field checks one after another and raise one ``InvalidInput`` with every field's message at the end."""

    def __init__(self):
        self.field_errors = {}

    def check(self, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except InvalidInput as error:
            for field, texts in (error.field_errors or {error.field or "detail": [str(error)]}).items():
                self.field_errors.setdefault(field, []).extend(texts)
            return None

    def raise_if_any(self):
        if self.field_errors:
            # ``field`` and the message name the first problem, for callers that show one.
            raise InvalidInput(field=next(iter(self.field_errors)), field_errors=self.field_errors)


def _link(complaint):
    return reverse("aftersales:complaint_detail", args=[complaint.pk])


def _notify_quality_officers(complaint):
    notify(
        users_with_roles(Role.QUALITY_OFFICER),
        title=_("Suspected adverse event: complaint %(number)s") % {"number": complaint.number},
        body=_("%(customer)s reported a suspected adverse event with %(product)s, lot %(lot)s.")
        % {
            "customer": complaint.customer.name,
            "product": complaint.product or "—",
            "lot": complaint.lot.lot_number if complaint.lot_id else "—",
        },
        link=_link(complaint),
        category="adverse_event",
    )


@transaction.atomic
def create_complaint(
    *,
    actor,
    customer=None,
    channel=None,
    category=None,
    description="",
    severity=Severity.MEDIUM,
    product=None,
    lot=None,
    lot_number="",
    contact_name="",
    contact_phone="",
    owner=None,
    suspected_adverse_event=False,
    received_on=None,
):
    """Record feedback or a complaint from a customer the actor can see; return the ``Complaint``.

    The due date follows the severity's service level from the day the
    complaint was received. The person responsible defaults to the
    customer's representative and is notified; a suspected adverse event
    goes to the quality officers' queue. Raises ``NotPermitted`` outside
    sales and quality, and one ``InvalidInput`` listing every field with a
    problem: a missing or unknown customer, an unknown channel, category,
    severity, product or lot, a lot of another product, an empty
    description, a contact phone that is not a phone number, and a receipt
    date in the future or more than ``COMPLAINT_MAX_BACKDATE_DAYS`` ago.
    """
    _check_role(actor)
    errors = _ErrorCollector()
    customer = errors.check(_resolve_customer, actor, customer)
    channel = errors.check(clean_choice, channel, FeedbackChannel, field="channel", label=_("channel"))
    category = errors.check(clean_choice, category, ComplaintCategory, field="category", label=_("category"))
    severity = errors.check(clean_choice, severity or Severity.MEDIUM, Severity, field="severity", label=_("severity"))
    description = errors.check(clean_text, description, field="description", label=_("description"), required=True)
    product, lot = errors.check(_resolve_product_and_lot, product, lot, lot_number) or (None, None)
    contact_name = errors.check(clean_text, contact_name, field="contact_name", label=_("contact"), max_length=60)
    contact_phone = errors.check(_clean_phone, contact_phone)
    received_on = errors.check(_clean_received_on, received_on)
    owner = errors.check(_resolve_owner, owner, customer.owner if customer else None)
    errors.raise_if_any()

    complaint = Complaint.objects.create(
        number=next_document_number("CP"),
        customer=customer,
        contact_name=contact_name,
        contact_phone=contact_phone,
        channel=channel,
        category=category,
        severity=severity,
        product=product,
        lot=lot,
        description=description,
        owner=owner,
        received_on=received_on,
        due_date=service_level_due_date(severity, received_on),
        suspected_adverse_event=bool(suspected_adverse_event),
        adverse_event_review=AdverseEventReview.PENDING if suspected_adverse_event else AdverseEventReview.NOT_FLAGGED,
        created_by=actor,
    )
    ComplaintAction.objects.create(complaint=complaint, to_status=C.OPEN, actor=actor)

    if owner.pk != actor.pk:
        notify(
            [owner],
            title=_("Complaint %(number)s from %(customer)s is assigned to you") % {"number": complaint.number, "customer": customer.name},
            body=_("Due by %(date)s.") % {"date": complaint.due_date},
            link=_link(complaint),
            category="complaint",
        )
    if complaint.suspected_adverse_event:
        _notify_quality_officers(complaint)
    logger.info("Complaint %s created by user %s", complaint.pk, actor.pk)
    return complaint


@transaction.atomic
def update_complaint(*, actor, complaint, **fields):
    """Change an open complaint's details; a new severity moves the due date with its service level.

    Accepts the keys in ``EDITABLE_FIELDS``. A severity change is logged
    with the old and new severity and due date. A new person responsible
    is notified.
    """
    _check_role(actor)
    complaint = _lock_complaint(complaint, actor)
    if complaint.status not in OPEN_COMPLAINT_STATUSES:
        raise InvalidTransition(
            _("Complaint %(number)s is %(status)s; reopen it before changing it.")
            % {"number": complaint.number, "status": complaint.get_status_display()}
        )
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(_("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})

    previous_owner_id = complaint.owner_id
    previous_severity, previous_due_date = complaint.severity, complaint.due_date
    if "channel" in fields:
        complaint.channel = clean_choice(fields["channel"], FeedbackChannel, field="channel", label=_("channel"))
    if "category" in fields:
        complaint.category = clean_choice(fields["category"], ComplaintCategory, field="category", label=_("category"))
    if "severity" in fields:
        complaint.severity = clean_choice(fields["severity"], Severity, field="severity", label=_("severity"))
        complaint.due_date = service_level_due_date(complaint.severity, complaint.received_on)
    if "description" in fields:
        complaint.description = clean_text(fields["description"], field="description", label=_("description"), required=True)
    if "contact_name" in fields:
        complaint.contact_name = clean_text(fields["contact_name"], field="contact_name", label=_("contact"), max_length=60)
    if "contact_phone" in fields:
        complaint.contact_phone = _clean_phone(fields["contact_phone"])
    if "root_cause" in fields:
        complaint.root_cause = clean_text(fields["root_cause"], field="root_cause", label=_("root cause"))
    if {"product", "lot", "lot_number"} & set(fields):
        complaint.product, complaint.lot = _resolve_product_and_lot(
            fields.get("product", complaint.product_id), fields.get("lot"), fields.get("lot_number", "")
        )
    if "owner" in fields:
        complaint.owner = _resolve_owner(fields["owner"], complaint.owner)
    complaint.save()
    if complaint.severity != previous_severity:
        ComplaintAction.objects.create(
            complaint=complaint,
            kind=ComplaintEvent.SEVERITY_CHANGED,
            params={
                "old_severity": previous_severity,
                "new_severity": complaint.severity,
                "old_due_date": previous_due_date.isoformat(),
                "new_due_date": complaint.due_date.isoformat(),
            },
            actor=actor,
        )

    if complaint.owner_id != previous_owner_id and complaint.owner_id != actor.pk:
        notify(
            [complaint.owner],
            title=_("Complaint %(number)s from %(customer)s is assigned to you")
            % {"number": complaint.number, "customer": complaint.customer.name},
            body=_("Due by %(date)s.") % {"date": complaint.due_date},
            link=_link(complaint),
            category="complaint",
        )
    return complaint


@transaction.atomic
def record_complaint_action(*, actor, complaint, note):
    """Add an action taken (a call, a visit, goods sent) to an open complaint's log."""
    _check_role(actor)
    complaint = _lock_complaint(complaint, actor)
    note = clean_text(note, field="note", label=_("action taken"), required=True)
    if complaint.status not in OPEN_COMPLAINT_STATUSES:
        raise InvalidTransition(
            _("Complaint %(number)s is %(status)s; reopen it to record more actions.")
            % {"number": complaint.number, "status": complaint.get_status_display()}
        )
    complaint.save(update_fields=["updated_at"])
    return ComplaintAction.objects.create(complaint=complaint, note=note, actor=actor)


@transaction.atomic
def change_complaint_status(*, actor, complaint, action, note="", resolution=None, root_cause=None, satisfaction_score=None):
    """Move a complaint along ``COMPLAINT_TRANSITIONS`` and log who did it, when and why.

    ``resolve`` needs the resolution, and a quality complaint also needs
    its root cause. ``close`` may record the customer's satisfaction score
    (1–5). ``reopen`` needs a note saying why; it moves the resolution and
    the satisfaction score into the log entry and clears them, because
    they belong to the handling that did not last. Raises
    ``InvalidTransition`` from a state that does not allow the action.
    """
    _check_role(actor)
    complaint = _lock_complaint(complaint, actor)
    if action not in COMPLAINT_TRANSITIONS:
        raise InvalidInput(_("“%(value)s” is not a complaint action.") % {"value": action}, field="action")
    sources, target = COMPLAINT_TRANSITIONS[action]
    if complaint.status not in sources:
        raise InvalidTransition(
            _("Complaint %(number)s is %(status)s and cannot be %(action)s now.")
            % {"number": complaint.number, "status": complaint.get_status_display(), "action": ACTION_PAST[action]}
        )
    note = clean_text(note, field="note", label=_("note"))

    if action == "resolve":
        if resolution is not None:
            complaint.resolution = clean_text(resolution, field="resolution", label=_("resolution"))
        if root_cause is not None:
            complaint.root_cause = clean_text(root_cause, field="root_cause", label=_("root cause"))
        if not complaint.resolution:
            raise InvalidInput(_("Describe the resolution before resolving the complaint."), field="resolution")
        if complaint.category == ComplaintCategory.QUALITY and not complaint.root_cause:
            raise InvalidInput(_("A quality complaint needs its root cause before it is resolved."), field="root_cause")
        complaint.resolved_at = timezone.now()
    elif action == "close":
        score = clean_score(satisfaction_score, field="satisfaction_score", required=False)
        if score is not None:
            complaint.satisfaction_score = score
        complaint.closed_at = timezone.now()
    kind, params = ComplaintEvent.NOTE, {}
    if action == "reopen":
        if not note:
            raise InvalidInput(_("Say why the complaint is reopened."), field="note")
        kind = ComplaintEvent.REOPENED
        params = {"resolution": complaint.resolution, "satisfaction_score": complaint.satisfaction_score}
        complaint.resolution = ""
        complaint.satisfaction_score = None
        complaint.resolved_at = None
        complaint.closed_at = None

    ComplaintAction.objects.create(
        complaint=complaint, from_status=complaint.status, to_status=target, note=note, kind=kind, params=params, actor=actor
    )
    complaint.status = target
    complaint.save()
    logger.info("Complaint %s moved to %s by user %s", complaint.pk, target, actor.pk)
    return complaint


@transaction.atomic
def flag_adverse_event(*, actor, complaint, note=""):
    """Flag an open complaint as a suspected adverse event and put it in the quality officers' queue."""
    _check_role(actor)
    complaint = _lock_complaint(complaint, actor)
    if complaint.suspected_adverse_event:
        raise InvalidTransition(_("Complaint %(number)s is already flagged as a suspected adverse event.") % {"number": complaint.number})
    complaint.suspected_adverse_event = True
    complaint.adverse_event_review = AdverseEventReview.PENDING
    complaint.save()
    ComplaintAction.objects.create(
        complaint=complaint, note=clean_text(note, field="note", label=_("note")), kind=ComplaintEvent.FLAGGED, actor=actor
    )
    _notify_quality_officers(complaint)
    return complaint


@transaction.atomic
def assess_adverse_event(*, actor, complaint, outcome, note):
    """Record the quality officer's assessment of a suspected adverse event: reported or dismissed, with the reasoning."""
    if not actor.has_role(Role.QUALITY_OFFICER):
        raise NotPermitted(_("Only the quality officer assesses suspected adverse events."))
    complaint = _lock_complaint(complaint, actor)
    if complaint.adverse_event_review != AdverseEventReview.PENDING:
        raise InvalidTransition(
            _("Complaint %(number)s has no adverse event waiting for assessment.") % {"number": complaint.number}
        )
    if outcome not in (AdverseEventReview.REPORTED, AdverseEventReview.DISMISSED):
        raise InvalidInput(
            _("“%(value)s” is not an assessment; use reported or dismissed.") % {"value": outcome}, field="outcome"
        )
    note = clean_text(note, field="note", label=_("assessment"), required=True)

    complaint.adverse_event_review = outcome
    complaint.adverse_event_note = note
    complaint.adverse_event_reviewed_by = actor
    complaint.adverse_event_reviewed_at = timezone.now()
    complaint.save()
    ComplaintAction.objects.create(complaint=complaint, note=note, actor=actor)
    notify(
        [complaint.owner],
        title=_("The quality officer assessed complaint %(number)s: %(outcome)s")
        % {"number": complaint.number, "outcome": complaint.get_adverse_event_review_display()},
        body=note,
        link=_link(complaint),
        category="adverse_event",
    )
    return complaint


def escalate_overdue_complaints(*, today=None):
    """Escalate every open complaint past its due date to its supervisor, once; return the escalated complaints.

    The supervisor is the one of the responsible person's team, or every
    manager when that person has no supervisor. Each complaint is locked
    and escalated in its own transaction, so one failure does not undo
    the others.
    """
    today = today or local_today()
    candidates = list(
        Complaint.objects.filter(status__in=OPEN_COMPLAINT_STATUSES, due_date__lt=today, escalated_at__isnull=True)
        .order_by("due_date", "pk")
        .values_list("pk", flat=True)
    )
    escalated = []
    for pk in candidates:
        with transaction.atomic():
            complaint = (
                Complaint.objects.select_for_update(of=("self",))
                .select_related("owner__team__supervisor", "customer")
                .filter(pk=pk, status__in=OPEN_COMPLAINT_STATUSES, escalated_at__isnull=True)
                .first()
            )
            if complaint is None:
                continue
            recipients = supervisors_for(complaint.owner)
            complaint.escalated_at = timezone.now()
            complaint.escalated_to = recipients[0] if len(recipients) == 1 else None
            complaint.save(update_fields=["escalated_at", "escalated_to", "updated_at"])
            # No actor: the scheduler escalates, not the person responsible.
            ComplaintAction.objects.create(
                complaint=complaint,
                kind=ComplaintEvent.ESCALATED,
                params={"due_date": complaint.due_date.isoformat(), "status": complaint.status},
                actor=None,
            )
            notify(
                recipients,
                title=_("Overdue complaint %(number)s from %(customer)s")
                % {"number": complaint.number, "customer": complaint.customer.name},
                body=_("Due on %(date)s; %(owner)s is responsible.") % {"date": complaint.due_date, "owner": complaint.owner},
                link=_link(complaint),
                category="escalation",
            )
            escalated.append(complaint)
            logger.info("Complaint %s escalated to %s user(s)", complaint.pk, len(recipients))
    return escalated
