"""Parsing and notification helpers shared by the after-sales services."""

from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput

MAX_TEXT = 4000


def as_whole_number(value):
    """Return ``value`` as an int when it is one or a string of ASCII digits; otherwise None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value.strip())
    return None


def as_id(value):
    """Return a model instance's pk, or ``value`` as a positive int id; None when it is neither."""
    if hasattr(value, "pk"):
        return value.pk
    number = as_whole_number(value)
    return number if number is not None and 0 < number < 2**63 else None


def clean_text(value, *, field, label, required=False, max_length=MAX_TEXT):
    text = ("" if value is None else str(value)).strip()
    if required and not text:
        raise InvalidInput(_("Enter the %(field)s.") % {"field": label}, field=field)
    if len(text) > max_length:
        raise InvalidInput(
            _("The %(field)s is longer than %(max)s characters.") % {"field": label, "max": max_length}, field=field
        )
    return text


def clean_choice(value, choices, *, field, label):
    """Return ``value`` when it is one of ``choices``; raise ``InvalidInput`` naming it and listing the valid values."""
    text = "" if value is None else str(value).strip()
    if text not in choices.values:
        raise InvalidInput(
            _("“%(value)s” is not a valid %(field)s; use one of %(choices)s.")
            % {"value": value, "field": label, "choices": ", ".join(choices.values)},
            field=field,
        )
    return text


def clean_score(value, *, field="score", required=True):
    """Return a satisfaction score 1–5; raise ``InvalidInput`` naming any other value."""
    if value in (None, ""):
        if required:
            raise InvalidInput(_("Enter the satisfaction score, a whole number from 1 to 5."), field=field)
        return None
    score = as_whole_number(value)
    if score is None or not 1 <= score <= 5:
        raise InvalidInput(
            _("The satisfaction score must be a whole number from 1 to 5, not “%(value)s”.") % {"value": value},
            field=field,
        )
    return score


def supervisors_for(user):
    """Return who reviews ``user``'s work: the supervisor of their team, or every manager when there is none."""
    from dentalsales.notifications.services import users_with_roles

    team = getattr(user, "team", None)
    supervisor = team.supervisor if team is not None else None
    if supervisor is not None and supervisor.is_active and supervisor.pk != user.pk:
        return [supervisor]
    return list(users_with_roles(Role.MANAGER))


def notify(recipients, *, title, body="", link="", category=""):
    """Send an in-app notification; the rows are part of the caller's transaction."""
    from dentalsales.notifications.services import notify as send

    return send(list(recipients), title=title, body=body, link=link, category=category)


def users_with_roles(*roles):
    from dentalsales.notifications.services import users_with_roles as find

    return list(find(*roles))
