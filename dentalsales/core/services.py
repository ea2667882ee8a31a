"""Writes that every app shares: document numbers."""

from django.db import IntegrityError, transaction

from .models import DocumentSequence
from .timeutils import local_today


def next_document_number(prefix, *, day=None):
    """Issue the next number of ``prefix`` for the business day, e.g. ``SO-20261204-0001``.

    Must run inside the transaction that saves the document: the sequence
    row stays locked (``select_for_update``) until that transaction ends, so
    concurrent callers queue, and a rollback returns the number, which keeps
    the numbers gap-free.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_document_number() must run inside the document's transaction.")
    day = day or local_today()

    # The first number of a day inserts the row. Two first callers can race
    # on the insert, so the loser's savepoint rolls back and it locks the
    # winner's row below like every later caller.
    if not DocumentSequence.objects.filter(prefix=prefix, day=day).exists():
        try:
            with transaction.atomic():
                DocumentSequence.objects.create(prefix=prefix, day=day, last_value=0)
        except IntegrityError:
            pass

    sequence = DocumentSequence.objects.select_for_update().get(prefix=prefix, day=day)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return f"{prefix}-{day:%Y%m%d}-{sequence.last_value:04d}"
