"""Potential customers: creation, stage changes, conversion by hand or by the first approved order."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import SALES_ROLES
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.customers import services as customer_services
from dentalsales.customers.models import Customer, CustomerCategory, GradeChange, GradeChangeSource
from dentalsales.customers.selectors import visible_customers

from ..models import Prospect, ProspectSource, ProspectStage, ProspectStageChange

logger = logging.getLogger(__name__)

S = ProspectStage
# Stages a potential customer may move to by hand from each stage. Won is
# reached only through ``convert_prospect`` or the first approved order.
STAGE_TRANSITIONS = {
    S.NEW: {S.CONTACTED, S.QUALIFIED, S.LOST},
    S.CONTACTED: {S.QUALIFIED, S.NEGOTIATING, S.LOST},
    S.QUALIFIED: {S.CONTACTED, S.NEGOTIATING, S.LOST},
    S.NEGOTIATING: {S.QUALIFIED, S.LOST},
    S.LOST: {S.CONTACTED},
    S.WON: set(),
}
OPEN_STAGES = frozenset({S.NEW, S.CONTACTED, S.QUALIFIED, S.NEGOTIATING})


def _record(prospect, actor, to_stage, *, reason="", order=None, from_stage=None):
    ProspectStageChange.objects.create(
        prospect=prospect, from_stage=prospect.stage if from_stage is None else from_stage, to_stage=to_stage,
        reason=reason, order=order, actor=actor,
    )


def _lock(prospect, actor):
    locked = (
        Prospect.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=prospect.pk, customer__in=visible_customers(actor))
        .first()
    )
    if locked is None:
        raise InvalidInput(_("Potential customer not found."), code="not_found")
    return locked


def _check_source(source, source_detail):
    if source not in ProspectSource.values:
        raise InvalidInput(_("Source “%(value)s” is not one of the listed sources.") % {"value": source}, field="source")
    source_detail = (source_detail or "").strip()
    if len(source_detail) > 200:
        raise InvalidInput(_("The source detail is longer than 200 characters."), field="source_detail")
    return source_detail


@transaction.atomic
def create_prospect(*, actor, source, source_detail="", **customer_fields):
    """Create a potential customer: the customer record (category potential) and its pipeline record at stage new.

    The customer is created by ``customers.services.create_customer`` with
    the same checks as any customer; its errors name the customer's fields.
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can create potential customers."))
    source_detail = _check_source(source, source_detail)

    customer_fields["category"] = CustomerCategory.POTENTIAL
    customer_fields.pop("grade", None)
    # ``create_customer`` opens the pipeline record of every potential customer.
    customer = customer_services.create_customer(
        actor=actor, prospect_source=source, prospect_source_detail=source_detail, **customer_fields
    )
    return Prospect.objects.get(customer=customer)


@transaction.atomic
def open_prospect(*, actor, customer, source, source_detail=""):
    """Start the pipeline record of an existing potential customer; ``create_customer`` calls it for every new one.

    Raises ``InvalidInput`` for a customer the actor cannot see, one that is
    not a potential customer, or one that already has a pipeline record.
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can create potential customers."))
    source_detail = _check_source(source, source_detail)
    customer = visible_customers(actor).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if customer is None:
        raise InvalidInput(_("Customer not found."), field="customer", code="not_found")
    if customer.category != CustomerCategory.POTENTIAL:
        raise InvalidInput(
            _("Customer %(code)s is not a potential customer.") % {"code": customer.code}, field="customer"
        )
    if Prospect.objects.filter(customer=customer).exists():
        raise InvalidInput(
            _("Customer %(code)s already has a potential-customer record.") % {"code": customer.code}, field="customer"
        )

    prospect = Prospect.objects.create(customer=customer, source=source, source_detail=source_detail, created_by=actor)
    _record(prospect, actor, S.NEW, from_stage="")
    logger.info("Potential customer %s opened by user %s", prospect.pk, actor.pk)
    return prospect


@transaction.atomic
def change_prospect_stage(*, actor, prospect, stage, reason=""):
    """Move a potential customer to another open stage or to lost; lost and reopening need a reason.

    Raises ``InvalidTransition`` for a move ``STAGE_TRANSITIONS`` does not
    allow (won is reached by conversion only).
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can change the stage of a potential customer."))
    prospect = _lock(prospect, actor)
    if stage not in ProspectStage.values:
        raise InvalidInput(_("Stage “%(value)s” is not one of the listed stages.") % {"value": stage}, field="stage")
    if stage not in STAGE_TRANSITIONS[prospect.stage]:
        raise InvalidTransition(
            _("A potential customer at stage %(current)s cannot move to stage %(stage)s.")
            % {"current": prospect.get_stage_display(), "stage": ProspectStage(stage).label}
        )
    reason = (reason or "").strip()
    if (stage == S.LOST or prospect.stage == S.LOST) and not reason:
        raise InvalidInput(_("Give the reason for this stage change."), field="reason")

    _record(prospect, actor, stage, reason=reason)
    prospect.stage = stage
    prospect.lost_reason = reason if stage == S.LOST else ""
    prospect.save(update_fields=["stage", "lost_reason", "updated_at"])
    logger.info("Potential customer %s moved to %s by user %s", prospect.pk, stage, actor.pk)
    return prospect


def _win(prospect, actor, *, reason, order=None):
    """Mark the prospect won and make its customer a general customer, recording both changes."""
    _record(prospect, actor, S.WON, reason=reason, order=order)
    prospect.stage = S.WON
    prospect.lost_reason = ""
    prospect.won_at = timezone.now()
    prospect.won_order = order
    prospect.save(update_fields=["stage", "lost_reason", "won_at", "won_order", "updated_at"])

    customer = Customer.objects.select_for_update().get(pk=prospect.customer_id)
    if customer.category == CustomerCategory.POTENTIAL:
        GradeChange.objects.create(
            customer=customer, old_category=customer.category, new_category=CustomerCategory.GENERAL,
            old_grade=customer.grade or "", new_grade=customer.grade or "", source=GradeChangeSource.MANUAL,
            reason=reason[:300], changed_by=actor,
        )
        customer.category = CustomerCategory.GENERAL
        customer.save(update_fields=["category", "updated_at"])


@transaction.atomic
def convert_prospect(*, actor, prospect, reason):
    """Convert a potential customer into a customer by hand, keeping its history; needs a reason."""
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can convert potential customers."))
    prospect = _lock(prospect, actor)
    if prospect.stage == S.WON:
        raise InvalidTransition(_("This potential customer has already been converted."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for converting the potential customer by hand."), field="reason")

    _win(prospect, actor, reason=reason)
    logger.info("Potential customer %s converted by hand by user %s", prospect.pk, actor.pk)
    return prospect


def follow_category_change(*, actor, customer, old_category, reason):
    """Keep the pipeline record in step with a category changed by hand; ``customers.grading.set_grade`` calls it.

    Runs inside the grade change's transaction after the customer row is
    locked and saved. A potential customer made a general or key customer
    is won, as a conversion by hand with the grade change's reason. A
    customer made potential again gets an open pipeline record: its earlier
    record is reopened at stage contacted, or a new one starts at stage new.
    The stage changes keep the earlier history. Returns the prospect or None.
    """
    new_category = customer.category
    if old_category == new_category:
        return None
    prospect = Prospect.objects.select_for_update().filter(customer_id=customer.pk).first()
    if old_category == CustomerCategory.POTENTIAL:
        if prospect is None or prospect.stage == S.WON:
            return prospect
        _win(prospect, actor, reason=_("Converted by hand with the category change: %(reason)s") % {"reason": reason})
        logger.info("Potential customer %s won by a category change by user %s", prospect.pk, actor.pk)
        return prospect
    if new_category != CustomerCategory.POTENTIAL:
        return prospect
    if prospect is None:
        prospect = Prospect.objects.create(customer=customer, source=ProspectSource.OTHER, created_by=actor)
        _record(prospect, actor, S.NEW, reason=reason, from_stage="")
        logger.info("Potential customer %s opened by a category change by user %s", prospect.pk, actor.pk)
        return prospect
    if prospect.stage not in OPEN_STAGES:
        _record(prospect, actor, S.CONTACTED, reason=reason)
        prospect.stage = S.CONTACTED
        prospect.lost_reason = ""
        prospect.won_at = None
        prospect.won_order = None
        prospect.save(update_fields=["stage", "lost_reason", "won_at", "won_order", "updated_at"])
        logger.info("Potential customer %s reopened by a category change by user %s", prospect.pk, actor.pk)
    return prospect


def mark_won_on_first_approval(order, actor):
    """Convert the order's customer, if it is a potential customer not yet won, because its first order was approved.

    Runs inside the approval's transaction, after the order and customer
    rows are locked; does nothing for a customer without a pipeline record
    or already won.
    """
    prospect = Prospect.objects.select_for_update().filter(customer_id=order.customer_id).first()
    if prospect is None or prospect.stage == S.WON:
        return None
    _win(prospect, actor, reason=_("First order %(number)s approved.") % {"number": order.number}, order=order)
    logger.info("Potential customer %s won by order %s", prospect.pk, order.pk)
    return prospect
