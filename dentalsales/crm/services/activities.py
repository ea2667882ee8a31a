"""Activities (phone calls, e-mails, visits, events), their amendments and the revisit plans they close."""

import datetime
import logging
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES
from dentalsales.catalog.models import Product
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Contact, Customer, CustomerCategory
from dentalsales.customers.selectors import visible_customers

from ..models import (
    Activity,
    ActivityAmendment,
    ActivityKind,
    ActivityStatus,
    CrmPolicy,
    RevisitInterval,
    RevisitPlan,
    RevisitStatus,
)
from ._common import notify, parse_date, required_text, visible_customer

logger = logging.getLogger(__name__)

# A phone revisit (电话回访) counts as a revisit as much as a visit does;
# e-mails and events do not close a revisit plan.
REVISIT_KINDS = frozenset({ActivityKind.VISIT, ActivityKind.PHONE})
# Used when the intervals table has no row for a grade.
FALLBACK_INTERVAL_DAYS = 30
TEXT_LIMIT = 5000


def interval_days_for(customer, intervals=None):
    """Return the days between revisits of ``customer``: by its grade, or the potential customers' interval.

    A general or key customer without a grade gets grade C's interval.
    ``intervals`` (key to days) spares a query per customer in loops.
    """
    if intervals is None:
        intervals = dict(RevisitInterval.objects.values_list("key", "days"))
    key = "potential" if customer.category == CustomerCategory.POTENTIAL else (customer.grade or "C")
    return intervals.get(key, FALLBACK_INTERVAL_DAYS)


def _clean_fields(customer, fields):
    """Check and normalise the editable fields of an activity; return them with contacts and products resolved."""
    cleaned = {}
    if "kind" in fields:
        if fields["kind"] not in ActivityKind.values:
            raise InvalidInput(_("Kind “%(value)s” is not one of the listed kinds.") % {"value": fields["kind"]}, field="kind")
        cleaned["kind"] = fields["kind"]
    if "occurred_on" in fields:
        cleaned["occurred_on"] = parse_date(fields["occurred_on"], "occurred_on", _("Date"))
    if "subject" in fields:
        cleaned["subject"] = required_text(fields["subject"], "subject", _("Subject"), 200)
    for name, label in (("outcome", _("Outcome")), ("next_step", _("Next step"))):
        if name in fields:
            text = str(fields[name] or "").strip()
            if len(text) > TEXT_LIMIT:
                raise InvalidInput(_("%(field)s is longer than %(max)d characters.") % {"field": label, "max": TEXT_LIMIT}, field=name)
            cleaned[name] = text
    if "next_step_on" in fields:
        value = fields["next_step_on"]
        cleaned["next_step_on"] = None if value in (None, "") else parse_date(value, "next_step_on", _("Next step date"))
    if fields.get("contacts") is not None:
        ids = [str(getattr(item, "pk", item)) for item in fields["contacts"]]
        contacts = list(Contact.objects.filter(pk__in=[pk for pk in ids if pk.isdigit()], customer=customer))
        missing = set(ids) - {str(contact.pk) for contact in contacts}
        if missing:
            raise InvalidInput(
                _("Contact %(value)s does not belong to customer %(customer)s.")
                % {"value": ", ".join(sorted(missing)), "customer": customer.code},
                field="contacts",
            )
        cleaned["contacts"] = contacts
    if fields.get("products") is not None:
        ids = [str(getattr(item, "pk", item)) for item in fields["products"]]
        products = list(Product.objects.filter(pk__in=[pk for pk in ids if pk.isdigit()]))
        missing = set(ids) - {str(product.pk) for product in products}
        if missing:
            raise InvalidInput(_("Product %(value)s not found.") % {"value": ", ".join(sorted(missing))}, field="products")
        cleaned["products"] = products
    return cleaned


def _check_next_step_date(occurred_on, next_step_on):
    if occurred_on and next_step_on and next_step_on < occurred_on:
        raise InvalidInput(
            _("The next step date %(next)s is before the activity date %(date)s.")
            % {"next": next_step_on.isoformat(), "date": occurred_on.isoformat()},
            field="next_step_on",
        )


def _apply(activity, cleaned):
    for name, value in cleaned.items():
        if name not in ("contacts", "products"):
            setattr(activity, name, value)
    activity.save()
    if "contacts" in cleaned:
        activity.contacts.set(cleaned["contacts"])
    if "products" in cleaned:
        activity.products.set(cleaned["products"])


@transaction.atomic
def create_activity(*, actor, customer, submit=False, **fields):
    """Record an activity with a customer the actor may see, as a draft, or submitted at once with ``submit``.

    Raises ``NotPermitted`` for roles outside sales and ``InvalidInput``
    naming the field for a missing subject, a bad date, or a contact of
    another customer.
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can record activities."))
    customer = visible_customer(actor, customer)
    fields.setdefault("kind", "")
    fields.setdefault("occurred_on", "")
    fields.setdefault("subject", "")
    cleaned = _clean_fields(customer, fields)
    _check_next_step_date(cleaned["occurred_on"], cleaned.get("next_step_on"))

    activity = Activity(customer=customer, owner=actor)
    _apply(activity, cleaned)
    logger.info("Activity %s recorded by user %s for customer %s", activity.pk, actor.pk, customer.pk)
    if submit:
        activity = submit_activity(actor=actor, activity=activity)
    return activity


def _lock_own(actor, activity):
    locked = (
        Activity.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=activity.pk, customer__in=visible_customers(actor))
        .first()
    )
    if locked is None:
        raise InvalidInput(_("Activity not found."), code="not_found")
    return locked


@transaction.atomic
def update_activity(*, actor, activity, **fields):
    """Change a draft activity; only the representative who recorded it may, and a submitted one is locked."""
    activity = _lock_own(actor, activity)
    if activity.owner_id != actor.pk:
        raise NotPermitted(_("Only the representative who recorded the activity can change it."))
    if activity.is_locked:
        raise InvalidTransition(_("The activity has been submitted and is locked; add an amendment to correct it."))
    cleaned = _clean_fields(activity.customer, fields)
    _check_next_step_date(
        cleaned.get("occurred_on", activity.occurred_on), cleaned.get("next_step_on", activity.next_step_on)
    )

    _apply(activity, cleaned)
    return activity


@transaction.atomic
def submit_activity(*, actor, activity):
    """Submit a draft activity, which locks it; a submitted visit or phone call closes the open revisit plan.

    The next revisit is planned from the latest submitted visit or call and
    the customer's grade interval, or on the next step date agreed with the
    customer if that comes earlier (see ``_next_due_on``). An e-mail or
    event with an earlier next step date moves the open plan forward. A
    date in the future cannot be submitted.
    """
    activity = _lock_own(actor, activity)
    if activity.owner_id != actor.pk:
        raise NotPermitted(_("Only the representative who recorded the activity can submit it."))
    if activity.is_locked:
        raise InvalidTransition(_("The activity has already been submitted."))
    if activity.occurred_on > local_today():
        raise InvalidInput(
            _("The date %(value)s is in the future; an activity is submitted after it took place.")
            % {"value": activity.occurred_on.isoformat()},
            field="occurred_on",
        )

    activity.status = ActivityStatus.SUBMITTED
    activity.submitted_at = timezone.now()
    activity.save(update_fields=["status", "submitted_at", "updated_at"])
    if activity.kind in REVISIT_KINDS:
        _close_and_plan_next(activity)
    elif activity.next_step_on:
        _bring_plan_forward(activity)
    logger.info("Activity %s submitted by user %s", activity.pk, actor.pk)
    return activity


def _close_and_plan_next(activity):
    customer = Customer.objects.select_for_update().get(pk=activity.customer_id)
    RevisitPlan.objects.filter(customer=customer, status=RevisitStatus.OPEN).update(
        status=RevisitStatus.DONE, activity=activity, completed_on=activity.occurred_on
    )
    if not customer.is_active:
        return
    last = (
        Activity.objects.filter(customer=customer, status=ActivityStatus.SUBMITTED, kind__in=REVISIT_KINDS)
        .aggregate(last=Max("occurred_on"))["last"]
    )
    due_on, agreed_in = _next_due_on(customer, last)
    RevisitPlan.objects.create(customer=customer, owner_id=customer.owner_id, due_on=due_on, agreed_in=agreed_in)


def _next_due_on(customer, last):
    """Return the next revisit's due day and the activity that agreed it (or None).

    The grade's interval after the last visit or call is the longest a
    customer waits. A next step date agreed in a submitted activity, and
    not yet reached by a visit or call (so after ``last``), comes first when
    it is earlier. A later agreed date does not postpone the grade's revisit.
    """
    due_on = last + datetime.timedelta(days=interval_days_for(customer))
    agreed = (
        Activity.objects.filter(customer=customer, status=ActivityStatus.SUBMITTED, next_step_on__gt=last)
        .order_by("next_step_on", "pk")
        .first()
    )
    if agreed is not None and agreed.next_step_on < due_on:
        return agreed.next_step_on, agreed
    return due_on, None


def _bring_plan_forward(activity):
    """Move the customer's open revisit plan to the activity's next step date if that is earlier."""
    Customer.objects.select_for_update().filter(pk=activity.customer_id).first()
    RevisitPlan.objects.filter(
        customer_id=activity.customer_id, status=RevisitStatus.OPEN, due_on__gt=activity.next_step_on
    ).update(due_on=activity.next_step_on, agreed_in=activity)


@transaction.atomic
def amend_activity(*, actor, activity, reason, outcome="", next_step=""):
    """Add a correction to a submitted activity; the submitted report itself never changes.

    The representative who recorded it, or a supervisor or manager who
    sees the customer, may amend it.
    """
    activity = _lock_own(actor, activity)
    if activity.owner_id != actor.pk and not actor.has_role(*REVIEW_ROLES):
        raise NotPermitted(_("Only the representative who recorded the activity or a supervisor can amend it."))
    if not activity.is_locked:
        raise InvalidTransition(_("A draft activity is changed directly; amendments are for submitted ones."))
    reason = required_text(reason, "reason", _("Reason for the correction"), TEXT_LIMIT)
    outcome = str(outcome or "").strip()
    next_step = str(next_step or "").strip()
    if not outcome and not next_step:
        raise InvalidInput(_("Enter the corrected outcome or the corrected next step."), field="outcome")

    amendment = ActivityAmendment.objects.create(
        activity=activity, reason=reason, outcome=outcome, next_step=next_step, author=actor
    )
    logger.info("Activity %s amended by user %s", activity.pk, actor.pk)
    return amendment


def plan_revisits(today=None):
    """Create an open revisit plan for every active customer without one; return how many were created.

    Open plans of customers made inactive since the last run are cancelled first.

    The due day is the latest submitted visit or phone call plus the
    grade's interval, or today for a customer never revisited. The partial
    unique constraint keeps one open plan per customer when two runs
    overlap.
    """
    today = today or local_today()
    cancelled = RevisitPlan.objects.filter(status=RevisitStatus.OPEN, customer__is_active=False).update(
        status=RevisitStatus.CANCELLED
    )
    if cancelled:
        logger.info("Revisit plans of inactive customers cancelled: %s", cancelled)
    intervals = dict(RevisitInterval.objects.values_list("key", "days"))
    open_plan = RevisitPlan.objects.filter(customer=OuterRef("pk"), status=RevisitStatus.OPEN)
    customers = (
        Customer.objects.filter(is_active=True)
        .annotate(has_open=Exists(open_plan))
        .filter(has_open=False)
        .annotate(
            last_revisit=Max(
                "activities__occurred_on",
                filter=Q(activities__status=ActivityStatus.SUBMITTED, activities__kind__in=REVISIT_KINDS),
            )
        )
        .only("pk", "owner_id", "category", "grade")
    )
    plans = []
    for customer in customers.iterator(chunk_size=2000):
        if customer.last_revisit is None:
            due_on = today
        else:
            due_on = customer.last_revisit + datetime.timedelta(days=interval_days_for(customer, intervals))
        plans.append(RevisitPlan(customer_id=customer.pk, owner_id=customer.owner_id, due_on=due_on))
    created = 0
    for start in range(0, len(plans), 1000):
        try:
            with transaction.atomic():
                created += len(RevisitPlan.objects.bulk_create(plans[start:start + 1000]))
        except IntegrityError:
            # Another run planned some of these customers meanwhile; plan the rest one by one.
            for plan in plans[start:start + 1000]:
                try:
                    with transaction.atomic():
                        plan.save()
                        created += 1
                except IntegrityError:
                    continue
    logger.info("Revisit plans created: %s", created)
    return created


def send_revisit_reminders(today=None):
    """Notify each representative of their due and overdue revisits, and each supervisor of their team's overdue ones.

    Plans are created first for customers without one. A plan is reminded
    at most once a day, so running the command twice a day sends nothing
    new. Returns ``(representatives notified, supervisors notified)``.
    """
    today = today or local_today()
    plan_revisits(today)
    policy = CrmPolicy.current()
    horizon = today + datetime.timedelta(days=policy.revisit_due_soon_days)
    plans = list(
        RevisitPlan.objects.filter(status=RevisitStatus.OPEN, due_on__lte=horizon, customer__is_active=True)
        .exclude(reminded_on=today)
        .select_related("customer__owner__team__supervisor")
    )
    by_owner = defaultdict(lambda: {"due": 0, "overdue": 0})
    by_supervisor = defaultdict(lambda: defaultdict(int))
    owners = {}
    for plan in plans:
        owner = plan.customer.owner
        owners[owner.pk] = owner
        overdue = plan.due_on < today
        by_owner[owner.pk]["overdue" if overdue else "due"] += 1
        supervisor = owner.team.supervisor if owner.team_id else None
        if overdue and supervisor is not None and supervisor.pk != owner.pk:
            owners[supervisor.pk] = supervisor
            by_supervisor[supervisor.pk][owner.display_name] += 1

    link = reverse("crm:revisit_list")
    for owner_pk, counts in by_owner.items():
        notify(
            [owners[owner_pk]],
            title=_("Revisits: %(overdue)d overdue, %(due)d due soon") % counts,
            body=_("Customers waiting for a visit or call are listed on the revisit page."),
            link=link,
            category="revisit",
        )
    for supervisor_pk, members in by_supervisor.items():
        total = sum(members.values())
        notify(
            [owners[supervisor_pk]],
            title=ngettext("Your team has %(count)d overdue revisit", "Your team has %(count)d overdue revisits", total)
            % {"count": total},
            body="\n".join(f"{name}: {count}" for name, count in sorted(members.items())),
            link=f"{link}?state=overdue",
            category="revisit",
        )
    RevisitPlan.objects.filter(pk__in=[plan.pk for plan in plans]).update(reminded_on=today)
    logger.info("Revisit reminders: %s representatives, %s supervisors", len(by_owner), len(by_supervisor))
    return len(by_owner), len(by_supervisor)
