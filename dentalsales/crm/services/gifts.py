"""The gifts and hospitality register: above the policy's threshold a gift needs a supervisor's approval before it is given."""

import logging
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES, Role
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.money import format_money
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Contact
from dentalsales.customers.selectors import visible_customers
from dentalsales.notifications.services import users_with_roles

from ..models import CrmPolicy, Gift, GiftKind, GiftStatus
from ._common import notify, parse_date, required_text, visible_customer

logger = logging.getLogger(__name__)

G = GiftStatus
# (states the action starts from, roles that may do it)
TRANSITIONS = {
    "edit": ({G.DRAFT, G.REJECTED}, SALES_ROLES),
    "request": ({G.DRAFT, G.REJECTED}, SALES_ROLES),
    "approve": ({G.REQUESTED}, REVIEW_ROLES),
    "reject": ({G.REQUESTED}, REVIEW_ROLES),
    "give": ({G.DRAFT, G.APPROVED}, SALES_ROLES),
    "delete": ({G.DRAFT, G.REQUESTED, G.REJECTED}, SALES_ROLES),
}
# The largest plausible gift or hospitality in this trade. A larger value is
# taken as a typing error, such as an extra digit or a missing decimal point.
MAX_VALUE = Decimal("100000.00")
FIELDS = ("kind", "description", "value", "given_on", "purpose", "recipient")


def gift_needs_approval(value, policy=None):
    """Tell whether a gift of ``value`` yuan is above the approval threshold."""
    policy = policy or CrmPolicy.current()
    return Decimal(value) > policy.gift_approval_threshold


def allowed_actions(gift, user):
    """Return the actions ``user`` may take on ``gift`` now, for buttons and the API."""
    actions = []
    for action, (states, roles) in TRANSITIONS.items():
        if gift.status not in states or not user.has_role(*roles):
            continue
        if action in ("edit", "request", "give") and gift.owner_id != user.pk:
            continue
        if action == "delete" and gift.owner_id != user.pk and not user.has_role(*REVIEW_ROLES):
            continue
        if action in ("approve", "reject") and gift.owner_id == user.pk:
            continue
        if action == "give" and gift.status == G.DRAFT and gift_needs_approval(gift.value):
            continue
        if action == "request" and not gift_needs_approval(gift.value):
            continue
        actions.append(action)
    return actions


def _clean(customer, fields):
    cleaned = {}
    if "kind" in fields:
        if fields["kind"] not in GiftKind.values:
            raise InvalidInput(_("Kind “%(value)s” is not one of the listed kinds.") % {"value": fields["kind"]}, field="kind")
        cleaned["kind"] = fields["kind"]
    if "description" in fields:
        cleaned["description"] = required_text(fields["description"], "description", _("What"), 200)
    if "purpose" in fields:
        cleaned["purpose"] = required_text(fields["purpose"], "purpose", _("Purpose"), 2000)
    if "given_on" in fields:
        cleaned["given_on"] = parse_date(fields["given_on"], "given_on", _("Date"))
    if "value" in fields:
        raw = fields["value"]
        try:
            value = Decimal(str(raw).strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            raise InvalidInput(_("Value “%(value)s” is not an amount of yuan.") % {"value": raw}, field="value") from None
        if not value.is_finite() or value <= 0 or value > MAX_VALUE:
            raise InvalidInput(_("Value %(value)s must be more than 0 and at most %(max)s yuan.") % {"value": raw, "max": format_money(MAX_VALUE)}, field="value")
        if value != value.quantize(Decimal("0.01")):
            raise InvalidInput(
                _("Value “%(value)s” has more than 2 decimals; give the amount in yuan and fen, such as 12.35.")
                % {"value": raw},
                field="value",
            )
        value = value.quantize(Decimal("0.01"))
        cleaned["value"] = value
    if "recipient" in fields:
        recipient_id = getattr(fields["recipient"], "pk", fields["recipient"])
        recipient = Contact.objects.filter(pk=recipient_id or None, customer=customer).first() if str(recipient_id or "").isdigit() else None
        if recipient is None:
            raise InvalidInput(
                _("Recipient %(value)s is not a contact of customer %(customer)s.")
                % {"value": recipient_id or "—", "customer": customer.code},
                field="recipient",
            )
        cleaned["recipient"] = recipient
    return cleaned


def create_gift(*, actor, customer, idempotency_key="", **fields):
    """Record a planned or given gift as a draft; raises ``InvalidInput`` naming the field for each bad value.

    ``idempotency_key`` is the web form's one-time token or the API's
    ``Idempotency-Key``: a second call by the same user with the same key
    (a double click, a resent request) records nothing and returns the
    first gift, with ``replayed`` set to True.
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can record gifts and hospitality."))
    idempotency_key = str(idempotency_key or "").strip()[:100]
    if idempotency_key:
        existing = Gift.objects.filter(owner=actor, idempotency_key=idempotency_key).first()
        if existing is not None:
            existing.replayed = True
            return existing
    try:
        with transaction.atomic():
            gift = _create_gift(actor, customer, idempotency_key, fields)
    except IntegrityError:
        # A concurrent request with the same key committed first.
        existing = Gift.objects.filter(owner=actor, idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        existing.replayed = True
        return existing
    gift.replayed = False
    return gift


def _create_gift(actor, customer, idempotency_key, fields):
    customer = visible_customer(actor, customer)
    for name in FIELDS:
        fields.setdefault(name, "" if name != "kind" else GiftKind.GIFT)
    cleaned = _clean(customer, {name: fields[name] for name in FIELDS})

    gift = Gift.objects.create(customer=customer, owner=actor, idempotency_key=idempotency_key, **cleaned)
    logger.info("Gift %s recorded by user %s for customer %s", gift.pk, actor.pk, customer.pk)
    return gift


def _lock(actor, gift, action):
    locked = (
        Gift.objects.select_for_update(of=("self",))
        .select_related("customer", "owner__team__supervisor")
        .filter(pk=gift.pk, customer__in=visible_customers(actor))
        .first()
    )
    if locked is None:
        raise InvalidInput(_("Gift not found."), code="not_found")
    states, roles = TRANSITIONS[action]
    if not actor.has_role(*roles):
        raise NotPermitted()
    if locked.status not in states:
        raise InvalidTransition(
            _("The gift is %(status)s; this is not possible now.") % {"status": locked.get_status_display()}
        )
    return locked


@transaction.atomic
def update_gift(*, actor, gift, **fields):
    """Change a draft or rejected gift; only the representative who recorded it may.

    Changing a rejected gift answers the rejection, so the gift leaves that
    state: within the threshold it becomes a draft that can be given, and
    above it, it goes back to the approvers as a new request. The rejection
    stays in the gift's history.
    """
    gift = _lock(actor, gift, "edit")
    if gift.owner_id != actor.pk:
        raise NotPermitted(_("Only the representative who recorded the gift can change it."))
    cleaned = _clean(gift.customer, {name: value for name, value in fields.items() if name in FIELDS})

    for name, value in cleaned.items():
        setattr(gift, name, value)
    if gift.status != G.REJECTED:
        gift.save()
        return gift

    gift.decided_by = None
    gift.decided_at = None
    gift.decision_reason = ""
    if gift_needs_approval(gift.value):
        gift.status = G.REQUESTED
        gift.save()
        _ask_approvers(gift)
        logger.info("Rejected gift %s changed and sent for approval again by user %s", gift.pk, actor.pk)
    else:
        gift.status = G.DRAFT
        gift.save()
        logger.info("Rejected gift %s changed to within the threshold by user %s", gift.pk, actor.pk)
    return gift


def _approvers(owner):
    supervisor = owner.team.supervisor if owner.team_id else None
    if supervisor is not None and supervisor.pk != owner.pk:
        return [supervisor]
    return list(users_with_roles(Role.MANAGER))


@transaction.atomic
def request_gift_approval(*, actor, gift):
    """Ask the representative's supervisor (or the managers, for a team without one) to approve a gift above the threshold."""
    gift = _lock(actor, gift, "request")
    if gift.owner_id != actor.pk:
        raise NotPermitted(_("Only the representative who recorded the gift can ask for approval."))
    if not gift_needs_approval(gift.value):
        raise InvalidTransition(
            _("A gift of %(value)s yuan is within the threshold of %(threshold)s yuan and needs no approval.")
            % {"value": format_money(gift.value), "threshold": format_money(CrmPolicy.current().gift_approval_threshold)}
        )

    gift.status = G.REQUESTED
    gift.decided_by = None
    gift.decided_at = None
    gift.decision_reason = ""
    gift.save()
    _ask_approvers(gift)
    logger.info("Gift %s sent for approval by user %s", gift.pk, actor.pk)
    return gift


def _ask_approvers(gift):
    notify(
        _approvers(gift.owner),
        title=_("Gift to approve: %(description)s, %(value)s yuan, for %(customer)s")
        % {"description": gift.description, "value": format_money(gift.value), "customer": gift.customer.name},
        body=gift.purpose,
        link=reverse("crm:gift_detail", args=[gift.pk]),
        category="gift",
    )


def _decide(actor, gift, action, status, reason):
    gift = _lock(actor, gift, action)
    if gift.owner_id == actor.pk:
        raise NotPermitted(_("You recorded this gift yourself; another supervisor or a manager must decide on it."))
    reason = (reason or "").strip()
    if status == G.REJECTED and not reason:
        raise InvalidInput(_("Give the reason for rejecting the gift."), field="reason")

    gift.status = status
    gift.decided_by = actor
    gift.decided_at = timezone.now()
    gift.decision_reason = reason
    gift.save()
    title = _("Gift approved: %(description)s") if status == G.APPROVED else _("Gift rejected: %(description)s")
    notify(
        [gift.owner],
        title=title % {"description": gift.description},
        body=reason,
        link=reverse("crm:gift_detail", args=[gift.pk]),
        category="gift",
    )
    logger.info("Gift %s %s by user %s", gift.pk, status, actor.pk)
    return gift


@transaction.atomic
def approve_gift(*, actor, gift, reason=""):
    """Approve a requested gift; for the representative's supervisor or a manager, never for its own recorder."""
    return _decide(actor, gift, "approve", G.APPROVED, reason)


@transaction.atomic
def reject_gift(*, actor, gift, reason):
    """Reject a requested gift with a reason; the representative may change it and ask again."""
    return _decide(actor, gift, "reject", G.REJECTED, reason)


@transaction.atomic
def mark_gift_given(*, actor, gift):
    """Record that the gift was given: a draft within the threshold, or an approved gift.

    Raises ``InvalidTransition`` for a draft above the threshold, which
    must be approved first.
    """
    gift = _lock(actor, gift, "give")
    if gift.owner_id != actor.pk:
        raise NotPermitted(_("Only the representative who recorded the gift can mark it given."))
    if gift.status == G.DRAFT and gift_needs_approval(gift.value):
        raise InvalidTransition(
            _("A gift of %(value)s yuan is above the threshold of %(threshold)s yuan; ask for approval before giving it.")
            % {"value": format_money(gift.value), "threshold": format_money(CrmPolicy.current().gift_approval_threshold)}
        )

    today = local_today()
    if gift.given_on > today:
        raise InvalidTransition(
            _("The gift is dated %(date)s, after today (%(today)s); mark it given on or after that day, or correct the date.")
            % {"date": gift.given_on.isoformat(), "today": today.isoformat()}
        )

    gift.status = G.GIVEN
    gift.save()
    logger.info("Gift %s marked given by user %s", gift.pk, actor.pk)
    return gift


@transaction.atomic
def delete_gift(*, actor, gift, reason=""):
    """Delete a gift not yet approved (draft, waiting or rejected), such as one recorded twice.

    The representative who recorded it, or a supervisor or manager who
    sees the customer, may. Approved and given gifts stay in the register.
    The gift's history keeps the deleted row with who deleted it and why.
    """
    gift = _lock(actor, gift, "delete")
    if gift.owner_id != actor.pk and not actor.has_role(*REVIEW_ROLES):
        raise NotPermitted(_("Only the representative who recorded the gift or a supervisor can delete it."))
    reason = (reason or "").strip()
    if len(reason) > 300:
        raise InvalidInput(_("The reason is longer than 300 characters."), field="reason")

    gift._history_user = actor
    gift._change_reason = reason or None
    pk, owner = gift.pk, gift.owner
    gift.delete()
    if owner.pk != actor.pk:
        notify(
            [owner],
            title=_("Gift deleted by %(user)s: %(description)s") % {"user": actor.display_name, "description": gift.description},
            body=reason,
            link=reverse("crm:gift_list"),
            category="gift",
        )
    logger.info("Gift %s deleted by user %s", pk, actor.pk)
    return pk
