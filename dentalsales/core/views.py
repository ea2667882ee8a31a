"""Helpers that keep views thin: domain errors into forms and messages, paging."""

from django.contrib import messages
from django.core.paginator import Paginator

from .errors import DomainError

PAGE_SIZE = 50


def add_domain_error(form, error):
    """Show a ``DomainError`` on the form, beside the field it names when the form has that field."""
    field_errors = getattr(error, "field_errors", None) or {}
    placed = False
    for name, texts in field_errors.items():
        target = name if name in form.fields else None
        for text in texts:
            form.add_error(target, text)
        placed = True
    if not placed:
        form.add_error(error.field if error.field in form.fields else None, str(error))


def report_domain_error(request, error: DomainError):
    messages.error(request, str(error))


def paginate(request, queryset, per_page=PAGE_SIZE):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))
