"""Writes for in-app notifications.

``notify`` is the single entry point other apps use for hand-overs,
reminders and escalations. Titles and bodies are stored as rendered text in
the language active when ``notify`` runs.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from dentalsales.core.errors import NotPermitted

from .models import Notification

logger = logging.getLogger(__name__)


def users_with_roles(*roles):
    """Return the active users holding any of ``roles`` (role names, as in ``accounts.roles.Role``)."""
    return get_user_model().objects.filter(is_active=True, groups__name__in=[str(role) for role in roles]).distinct()


def notify(recipients, *, title, body="", link="", category="", email=False):
    """Create one notification per distinct active recipient and return them.

    With ``email=True`` each recipient who has an e-mail address also gets
    the message by e-mail after the transaction commits, so a rolled-back
    action sends nothing. A failed e-mail is logged; the in-app
    notification stays.
    """
    users = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not users:
        return []
    title = str(title)[:200]
    body = str(body)
    notifications = Notification.objects.bulk_create(
        [
            Notification(recipient=user, title=title, body=body, link=link, category=category)
            for user in users.values()
        ]
    )
    if email:
        addressed = [user for user in users.values() if user.email]
        if addressed:
            transaction.on_commit(lambda: _send_emails(addressed, title, body, link))
    logger.info("notification %r to %d user(s), category %s", title, len(users), category or "-")
    return notifications


def _send_emails(users, title, body, link):
    text = body
    if link:
        base = getattr(settings, "SITE_URL", "").rstrip("/")
        text = f"{body}\n\n{base}{link}" if body else f"{base}{link}"
    sent = []
    for user in users:
        try:
            send_mail(title, text, None, [user.email])
        except Exception:  # the in-app copy is the record; a mail server outage must not break the action
            logger.exception("e-mail for notification %r to user %s failed", title, user.pk)
        else:
            sent.append(user.pk)
    if sent:
        Notification.objects.filter(recipient_id__in=sent, title=title, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )


@transaction.atomic
def mark_read(*, notification, actor):
    """Mark one of the actor's own notifications as read; reading someone else's is not permitted."""
    if notification.recipient_id != actor.pk:
        raise NotPermitted()
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_read(*, actor):
    """Mark every unread notification of the actor as read and return how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())
