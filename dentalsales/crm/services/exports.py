"""The export log: every spreadsheet export of business data leaves a row."""

import datetime
import logging
from decimal import Decimal

from ..models import ExportLog

logger = logging.getLogger(__name__)


def _plain(value):
    """Turn a filter value into something JSON can store: dates as ISO text, model rows as their key."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (list, tuple, set)):
        return [_plain(item) for item in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def log_export(user, list_name, filters, row_count):
    """Record that ``user`` exported ``row_count`` rows of ``list_name`` with ``filters`` and return the log row.

    ``filters`` is a mapping such as ``request.GET``; empty values and the
    ``export`` and ``page`` parameters are left out. Every .xlsx export of
    the project calls this, so that data leaving the system can be audited.
    """
    items = filters.lists() if hasattr(filters, "lists") else ((key, [value]) for key, value in dict(filters or {}).items())
    stored = {}
    for key, values in items:
        if key in ("export", "page"):
            continue
        values = [_plain(value) for value in values if value not in ("", None)]
        if values:
            stored[key] = values[0] if len(values) == 1 else values
    entry = ExportLog.objects.create(user=user, list_name=str(list_name)[:100], filters=stored, row_count=row_count)
    logger.info("Export of %s by user %s: %s rows", list_name, user.pk, row_count)
    return entry
