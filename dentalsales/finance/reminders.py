"""Daily collection reminders.

Representatives are notified of their customers' due and overdue
receivables, supervisors and finance of receivables overdue beyond the
credit check's tolerance.
"""

import datetime
import logging
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.core.money import format_money
from dentalsales.core.timeutils import local_today
from dentalsales.notifications.services import notify, users_with_roles

from .models import Receivable

logger = logging.getLogger(__name__)

# Receivables falling due within this many days are announced in advance.
DUE_SOON_DAYS = 3


@transaction.atomic
def send_collection_reminders(today=None):
    """Notify representatives of receivables due soon or overdue, and escalate long-overdue ones.

    Each representative gets one digest. Receivables more than
    ``CREDIT_OVERDUE_TOLERANCE_DAYS`` past due (which block order review)
    also go to the representative's supervisor and to finance. A receivable
    is reminded at most once a day, so a second run on the same day sends
    nothing new. Returns ``(representatives notified, escalations sent)``.
    """
    today = today or local_today()
    tolerance = settings.CREDIT_OVERDUE_TOLERANCE_DAYS
    receivables = list(
        Receivable.objects.select_for_update(of=("self",))
        .filter(open_amount__gt=0, due_on__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))
        .exclude(reminded_on=today)
        .select_related("customer__owner__team__supervisor")
        .order_by("pk")
    )
    digests = defaultdict(lambda: {"due": 0, "overdue": 0, "amount": Decimal("0")})
    escalations = defaultdict(list)
    owners = {}
    for receivable in receivables:
        owner = receivable.customer.owner
        owners[owner.pk] = owner
        digest = digests[owner.pk]
        digest["overdue" if receivable.due_on < today else "due"] += 1
        digest["amount"] += receivable.open_amount
        if (today - receivable.due_on).days > tolerance:
            escalations[owner.pk].append(receivable)

    link = reverse("finance:receivable_list")
    for owner_pk, digest in digests.items():
        notify(
            [owners[owner_pk]],
            title=_("Receivables: %(overdue)d overdue, %(due)d due within %(days)d days, %(amount)s open")
            % {**digest, "days": DUE_SOON_DAYS, "amount": format_money(digest["amount"])},
            body=_("Ask the customers for payment; the list shows each receivable and its due date."),
            link=f"{link}?status=overdue",
            category="finance",
        )
    finance_users = list(users_with_roles(Role.FINANCE))
    for owner_pk, overdue in escalations.items():
        owner = owners[owner_pk]
        supervisor = owner.team.supervisor if owner.team_id else None
        lines = [
            _("%(customer)s %(number)s: %(amount)s, due %(date)s")
            % {"customer": r.customer.name, "number": r.number, "amount": format_money(r.open_amount), "date": r.due_on}
            for r in overdue
        ]
        notify(
            [user for user in [supervisor, *finance_users] if user is not None and user.pk != owner.pk],
            title=_("%(owner)s has %(count)d receivables more than %(days)d days overdue")
            % {"owner": owner.display_name, "count": len(overdue), "days": tolerance},
            body="\n".join(lines),
            link=f"{link}?status=overdue&owner={owner.pk}",
            category="finance",
        )
    Receivable.objects.filter(pk__in=[r.pk for r in receivables]).update(reminded_on=today)
    logger.info("Collection reminders: %s representatives, %s escalations", len(digests), len(escalations))
    return len(digests), len(escalations)
