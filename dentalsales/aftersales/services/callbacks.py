"""Writes on satisfaction call-backs: scheduling after shipments, reminders and the recorded score.

A scheduler runs ``manage.py schedule_callbacks`` daily. It scans the
shipments instead of hooking into the inventory services, so shipping
never waits on after-sales and a missed run catches up on the next.
"""

import datetime
import logging
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dentalsales.accounts.roles import SALES_ROLES
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import Shipment

from ..models import CallbackStatus, SatisfactionCallback
from ..selectors import RETURNABLE_SHIPMENT_STATUSES, visible_callbacks
from ._common import clean_score, clean_text, notify

logger = logging.getLogger(__name__)


def schedule_satisfaction_callbacks(*, today=None):
    """Create a call-back for every recent dispatched or delivered shipment that has none; return how many were created.

    Each falls due ``SATISFACTION_CALLBACK_DELAY_DAYS`` after delivery (or
    after dispatch while no delivery is confirmed) and
    belongs to the order's representative. Shipments older than
    ``SATISFACTION_CALLBACK_LOOKBACK_DAYS`` are skipped. Safe to run
    concurrently: the one-call-back-per-shipment constraint decides.
    """
    today = today or local_today()
    delay = datetime.timedelta(days=settings.SATISFACTION_CALLBACK_DELAY_DAYS)
    since = today - datetime.timedelta(days=settings.SATISFACTION_CALLBACK_LOOKBACK_DAYS)
    shipments = (
        Shipment.objects.filter(
            status__in=RETURNABLE_SHIPMENT_STATUSES,
            shipped_on__gte=since,
            shipped_on__lte=today,
            satisfaction_callback__isnull=True,
        )
        .select_related("order")
        .order_by("pk")
    )
    created = 0
    for shipment in shipments:
        try:
            with transaction.atomic():
                SatisfactionCallback.objects.create(
                    shipment=shipment,
                    customer_id=shipment.customer_id,
                    owner_id=shipment.order.owner_id,
                    due_date=(shipment.delivered_on or shipment.shipped_on) + delay,
                )
        except IntegrityError:
            continue  # A concurrent run scheduled it.
        created += 1
    logger.info("Satisfaction call-backs scheduled: %s", created)
    return created


def remind_due_callbacks(*, today=None):
    """Notify each representative once of their call-backs that fell due; return the number of reminders sent."""
    today = today or local_today()
    with transaction.atomic():
        due = list(
            SatisfactionCallback.objects.select_for_update(of=("self",))
            .filter(status=CallbackStatus.SCHEDULED, due_date__lte=today, reminded_at__isnull=True)
            .select_related("owner")
            .order_by("pk")
        )
        by_owner = defaultdict(list)
        for callback in due:
            by_owner[callback.owner].append(callback)
        for owner, callbacks in by_owner.items():
            count = len(callbacks)
            notify(
                [owner],
                title=ngettext(
                    "%(count)s satisfaction call-back is due",
                    "%(count)s satisfaction call-backs are due",
                    count,
                )
                % {"count": count},
                link=reverse("aftersales:callback_list") + "?due=1",
                category="callback",
            )
        SatisfactionCallback.objects.filter(pk__in=[callback.pk for callback in due]).update(reminded_at=timezone.now())
    return len(by_owner)


def _clean_retry_date(value, today):
    if value in (None, ""):
        return today + datetime.timedelta(days=settings.SATISFACTION_CALLBACK_RETRY_DAYS)
    retry_on = value
    if isinstance(value, str):
        try:
            retry_on = datetime.date.fromisoformat(value.strip())
        except ValueError:
            retry_on = None
    if not isinstance(retry_on, datetime.date):
        raise InvalidInput(_("“%(value)s” is not a date; use YYYY-MM-DD.") % {"value": value}, field="retry_on")
    latest = today + datetime.timedelta(days=settings.SATISFACTION_CALLBACK_LOOKBACK_DAYS)
    if not today < retry_on <= latest:
        raise InvalidInput(
            _("Call again on a day after today and no later than %(latest)s, not on %(value)s.")
            % {"latest": latest, "value": retry_on},
            field="retry_on",
        )
    return retry_on


@transaction.atomic
def record_callback(*, actor, callback, reached=True, score=None, comment="", retry_on=None, close_unreachable=False):
    """Record a call to the customer after a shipment.

    A call that reached the customer needs the satisfaction score (1–5) and
    completes the call-back. An unanswered call is counted and the
    call-back stays scheduled, due again on ``retry_on`` (default: in
    ``SATISFACTION_CALLBACK_RETRY_DAYS``). With ``close_unreachable`` an
    unanswered call closes the call-back as unreachable, allowed once it
    is at least the ``SATISFACTION_CALLBACK_MAX_ATTEMPTS``-th unanswered call.
    Only the representative's side of sales (the representative, their
    supervisor, a manager) records call-backs. Raises ``InvalidInput``
    naming the value for a score outside 1–5, a score for an unanswered call
    or a bad retry date, and ``InvalidTransition`` for a completed
    call-back or for closing before enough calls.
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff record satisfaction call-backs."))
    try:
        callback = visible_callbacks(actor).select_for_update(of=("self",)).select_related("shipment").get(pk=callback.pk)
    except SatisfactionCallback.DoesNotExist:
        raise InvalidInput(_("Call-back not found."), code="not_found") from None
    if callback.status != CallbackStatus.SCHEDULED:
        raise InvalidTransition(
            _("The call-back for shipment %(shipment)s was already recorded as %(status)s.")
            % {"shipment": callback.shipment.number, "status": callback.get_status_display()}
        )
    comment = clean_text(comment, field="comment", label=_("comment"))
    today = local_today()

    if reached:
        callback.score = clean_score(score)
        callback.status = CallbackStatus.DONE
        callback.comment = comment
        callback.completed_by = actor
        callback.completed_at = timezone.now()
    else:
        if score not in (None, ""):
            raise InvalidInput(_("An unreachable customer gives no score; leave the score empty."), field="score")
        attempts = callback.unreachable_attempts + 1
        maximum = settings.SATISFACTION_CALLBACK_MAX_ATTEMPTS
        if close_unreachable and attempts < maximum:
            raise InvalidTransition(
                _(
                    "The call-back for shipment %(shipment)s can be closed as unreachable after %(maximum)s unanswered "
                    "calls; this is call %(attempt)s. Record it and call again."
                )
                % {"shipment": callback.shipment.number, "maximum": maximum, "attempt": attempts},
                field="close_unreachable",
            )
        callback.unreachable_attempts = attempts
        callback.last_attempt_at = timezone.now()
        callback.last_attempt_note = comment
        if close_unreachable:
            callback.status = CallbackStatus.UNREACHABLE
            callback.comment = comment
            callback.completed_by = actor
            callback.completed_at = callback.last_attempt_at
        else:
            callback.due_date = _clean_retry_date(retry_on, today)
            # The next due date earns a fresh reminder.
            callback.reminded_at = None
    callback.save()
    logger.info(
        "Call-back %s recorded as %s (unanswered calls: %s) by user %s",
        callback.pk, callback.status, callback.unreachable_attempts, actor.pk,
    )
    return callback
