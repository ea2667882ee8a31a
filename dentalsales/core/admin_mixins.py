"""Admin helpers: business records are read-only in the admin, because their writes go through services."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin


class ReadOnlyMixin:
    """Show rows only; adding, changing and deleting happen in the application's screens."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    """A read-only admin with the history page, for models that keep django-simple-history records."""


class ReadOnlyPlainAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A read-only admin for models without history, such as ledger rows that are only ever added."""
