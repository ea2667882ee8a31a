"""In-app reminders of qualifications that expire in 90, 60 and 30 days."""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.core.timeutils import local_today

from .models import Qualification, QualificationReminder, VerificationStatus
from .selectors import EXPIRY_THRESHOLDS

logger = logging.getLogger(__name__)


def due_threshold(days_left):
    """Return the smallest threshold (30, 60 or 90) that ``days_left`` is within, or None beyond 90 days or when expired."""
    if days_left < 0:
        return None
    within = [threshold for threshold in EXPIRY_THRESHOLDS if days_left <= threshold]
    return min(within) if within else None


def send_expiry_reminders(day=None):
    """Notify the owner and the quality officers once per qualification and threshold; return the number sent.

    A run that was skipped for some days sends only the threshold reached
    by now, not the ones passed in between.
    """
    from dentalsales.notifications.services import notify, users_with_roles

    day = day or local_today()
    quality = list(users_with_roles(Role.QUALITY_OFFICER))
    candidates = (
        Qualification.objects.filter(
            customer__is_active=True,
            valid_until__gte=day,
            valid_until__lte=day + datetime.timedelta(days=max(EXPIRY_THRESHOLDS)),
        )
        .exclude(verification_status=VerificationStatus.REJECTED)
        .select_related("customer", "customer__owner")
    )
    sent = 0
    for qualification in candidates:
        threshold = due_threshold((qualification.valid_until - day).days)
        try:
            with transaction.atomic():
                QualificationReminder.objects.create(
                    qualification=qualification, days_before=threshold, valid_until=qualification.valid_until
                )
                notify(
                    [qualification.customer.owner, *quality],
                    title=_("%(qualification)s of %(customer)s expires on %(date)s")
                    % {
                        "qualification": qualification,
                        "customer": qualification.customer,
                        "date": qualification.valid_until.isoformat(),
                    },
                    body=_("Ask the customer for the renewed licence within %(days)d days.") % {"days": threshold},
                    link=reverse("customers:expiry_radar"),
                    category="qualification_expiry",
                )
        except IntegrityError:
            continue
        sent += 1
    logger.info("Qualification expiry reminders for %s: %d sent", day, sent)
    return sent
