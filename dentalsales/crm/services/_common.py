"""Helpers shared by the crm services."""

import datetime

from django.utils.translation import gettext as _

from dentalsales.core.errors import InvalidInput


def parse_date(value, field, label):
    """Return ``value`` as a date; accept a date or ISO text, raise ``InvalidInput`` naming the field otherwise."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value or "").strip()
    if not text:
        raise InvalidInput(_("%(field)s is required.") % {"field": label}, field=field)
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            _("%(field)s “%(value)s” is not a date; use the form 2026-12-31.") % {"field": label, "value": text},
            field=field,
        ) from None


def required_text(value, field, label, max_length=None):
    text = str(value or "").strip()
    if not text:
        raise InvalidInput(_("%(field)s is required.") % {"field": label}, field=field)
    if max_length and len(text) > max_length:
        raise InvalidInput(
            _("%(field)s is longer than %(max)d characters.") % {"field": label, "max": max_length}, field=field
        )
    return text


def visible_customer(actor, customer):
    """Return the customer (an instance or a primary key) if ``actor`` may see it; raise ``InvalidInput`` otherwise."""
    from dentalsales.customers.selectors import visible_customers

    pk = getattr(customer, "pk", customer)
    found = visible_customers(actor).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise InvalidInput(_("Customer %(value)s not found.") % {"value": pk}, field="customer", code="not_found")
    return found


def notify(recipients, **kwargs):
    """Send an in-app notification after the transaction commits, so a rolled-back change notifies nobody."""
    from django.db import transaction

    from dentalsales.notifications.services import notify as send

    recipients = [user for user in recipients if user is not None]
    if recipients:
        transaction.on_commit(lambda: send(recipients, **kwargs))
