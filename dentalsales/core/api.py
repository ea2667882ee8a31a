"""API conventions shared by every app: error bodies, idempotency, base classes."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ErrorDetail, NotFound, ParseError
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, InvalidInput

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY_LENGTH = 100


def exception_handler(exc, context):
    """Turn a ``DomainError`` into ``{"detail", "code"}`` with its status; leave the rest to DRF.

    An invalid-input error that names a field also carries
    ``{"<field>": [message]}`` so that clients can show it beside the field.
    """
    if isinstance(exc, DomainError):
        body = {"detail": str(exc), "code": exc.code}
        for field, messages in getattr(exc, "field_errors", {}).items():
            if field != "detail":
                body[field] = [str(message) for message in messages]
        logger.info("Request refused: %s (%s)", exc.code, context["view"].__class__.__name__)
        return Response(body, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        exc = DRFValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, Http404):
        # Django's message names the model in English ("No SalesOrder matches
        # the given query."); the translated generic one says enough.
        exc = NotFound()
    if isinstance(exc, ParseError):
        exc = ParseError(_("The request body is not valid JSON."))
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, DRFValidationError) and isinstance(response.data, dict):
        # Field errors keep DRF's shape; "detail" and "code" make every
        # refusal readable the same way as a DomainError's.
        response.data.setdefault("detail", _first_message(response.data))
        response.data.setdefault("code", "invalid")
    return response


def _first_message(data):
    """Return the first error message of a DRF error structure, prefixed with its field name."""
    for field, value in data.items():
        while isinstance(value, (list, dict)) and value:
            value = value[0] if isinstance(value, list) else next(iter(value.values()))
        if isinstance(value, (str, ErrorDetail)) and value:
            return f"{field}: {value}" if field not in ("detail", "non_field_errors") else str(value)
    return str(_("Some values are invalid."))


def idempotency_key_from(request):
    """Return the request's ``Idempotency-Key`` header, or an empty string; reject an over-long key."""
    key = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidInput(
            _("The Idempotency-Key header is longer than %(max)d characters.") % {"max": MAX_IDEMPOTENCY_KEY_LENGTH},
            field=IDEMPOTENCY_HEADER,
        )
    return key


def created_or_replayed(data, created):
    return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
