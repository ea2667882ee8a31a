"""Domain errors shared by every app.

A service raises a ``DomainError`` subclass when a business rule refuses a
request. Views turn it into a form error or a message, and the API into a
JSON body ``{"detail": ..., "code": ...}`` with the class's HTTP status, so
both interfaces say the same thing in the user's language.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule refused the request; nothing was changed."""

    code = "domain_error"
    http_status = 400
    default_message = _("The request was refused.")

    def __init__(self, message=None, *, code=None, field=None, params=None):
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        self.field = field
        self.params = params or {}
        super().__init__(str(self.message))

    def __str__(self):
        text = str(self.message)
        return text % self.params if self.params else text


class InvalidInput(DomainError):
    """One or more values failed validation.

    ``field_errors`` maps each field name to its messages; a single-field
    error may pass ``field`` and ``message`` instead.
    """

    code = "invalid"
    http_status = 400
    default_message = _("Some values are invalid.")

    def __init__(self, message=None, *, field=None, field_errors=None, **kwargs):
        super().__init__(message, field=field, **kwargs)
        self.field_errors = dict(field_errors or {})
        if field and message is not None:
            self.field_errors.setdefault(field, [str(self)])
        if message is None and self.field_errors:
            messages = next(iter(self.field_errors.values()))
            self.message = messages[0]


def clean_model(instance, exclude=None):
    """Run ``full_clean`` and raise ``InvalidInput`` with every field's messages on failure."""
    from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        field_errors = {
            ("detail" if name == NON_FIELD_ERRORS else name): [str(message) for message in messages]
            for name, messages in error.message_dict.items()
        }
        raise InvalidInput(field_errors=field_errors) from error


class InvalidTransition(DomainError):
    """A state change was requested from a state that does not allow it."""

    code = "invalid_transition"
    http_status = 409


class NotPermitted(DomainError):
    """The actor's role does not allow the action on this object."""

    code = "not_permitted"
    http_status = 403
    default_message = _("You are not allowed to do this.")


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    http_status = 409


def join_reasons(items):
    """Join several reasons into one sentence part with the language's list separator (``; `` or ``；``)."""
    from django.utils.translation import pgettext

    return pgettext("list separator", "; ").join(str(item) for item in items)
