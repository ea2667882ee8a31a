"""Daily expiry reminders for the quality officer and logistics: near-expiry stock and registrations."""

import datetime
import logging

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.core.timeutils import local_today

from .selectors import radar_counts

logger = logging.getLogger(__name__)
REMINDER_CATEGORY = "expiry"
REMINDER_ROLES = (Role.QUALITY_OFFICER, Role.LOGISTICS)


def build_reminder(counts):
    """Return (title, body) for the radar counts, or None when nothing needs attention."""
    days, within = counts["windows"][0]
    if not (within or counts["expired_lots"] or counts["expiring_registrations"] or counts["invalid_registrations"]):
        return None
    title = _("Expiry radar: %(within)s lots expire within %(days)s days, %(expired)s expired lots in stock") % {
        "within": within,
        "days": days,
        "expired": counts["expired_lots"],
    }
    body = _("%(expiring)s registrations expire within %(days)s days; %(invalid)s active products have no valid registration.") % {
        "expiring": counts["expiring_registrations"],
        "days": counts["registration_window"],
        "invalid": counts["invalid_registrations"],
    }
    return title, body


def recipients_due(today=None):
    """Return the quality officers and logistics staff who have not had today's expiry reminder yet."""
    from dentalsales.notifications.models import Notification
    from dentalsales.notifications.services import users_with_roles

    today = today or local_today()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    already = Notification.objects.filter(category=REMINDER_CATEGORY, created_at__gte=start).values("recipient_id")
    return list(users_with_roles(*REMINDER_ROLES).exclude(pk__in=already).order_by("username"))


def send_expiry_reminders(*, dry_run=False):
    """Send one reminder per recipient and day when the radar has anything to show; return (recipients, counts).

    Running twice on the same day (Asia/Shanghai) sends nothing the second time.
    """
    from dentalsales.notifications.services import notify

    counts = radar_counts()
    message = build_reminder(counts)
    if message is None:
        return [], counts
    recipients = recipients_due()
    if not dry_run and recipients:
        title, body = message
        notify(recipients, title=title, body=body, link=reverse("quality:expiry_radar"), category=REMINDER_CATEGORY)
        logger.info("Expiry reminders sent to %s users", len(recipients))
    return recipients, counts
