"""Admin helpers: business records are read-only in the admin, because their writes go through services."""

from django.contrib import admin
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin


class ReadOnlyMixin:
    """Show rows only; adding, changing and deleting happen in the application's screens."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def delete_view(self, request, object_id, extra_context=None):
        """Explain why the record stays, instead of the generic "not allowed" page a refused delete would show."""
        obj = self.get_object(request, admin.utils.unquote(object_id))
        if obj is None:
            return super().delete_view(request, object_id, extra_context)
        from dentalsales.quality.retention import traceability_records

        records = traceability_records(obj)
        if records:
            listed = ", ".join(f"{count} {name}" for name, count in records.items())
            text = _("“%(object)s” cannot be deleted: it appears in %(records)s, which must be kept for traceability. Mark it inactive instead.") % {
                "object": obj, "records": listed,
            }
        else:
            text = _("The %(model)s “%(object)s” cannot be deleted: business and traceability records are kept, and they change only through the application's screens.") % {
                "model": self.model._meta.verbose_name, "object": obj,
            }
        info = (self.model._meta.app_label, self.model._meta.model_name)
        context = {"reason": text, "back_url": reverse("admin:%s_%s_change" % info, args=[obj.pk])}
        return render(request, "403.html", context, status=403)


class ReadOnlyAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    """A read-only admin with the history page, for models that keep django-simple-history records."""


class ReadOnlyPlainAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A read-only admin for models without history, such as ledger rows that are only ever added."""
