from django.contrib import admin

from dentalsales.core.admin_mixins import ReadOnlyAdmin

from .models import CreditNote, CreditRelease, Payment, Receivable


@admin.register(Receivable)
class ReceivableAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "invoiced_on", "due_on", "amount", "open_amount"]
    search_fields = ["number", "customer__name", "customer__code"]
    list_select_related = ["customer"]
    date_hierarchy = "invoiced_on"


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "received_on", "method", "amount", "unapplied_amount", "status"]
    list_filter = ["status", "method"]
    search_fields = ["number", "reference", "customer__name"]
    list_select_related = ["customer"]


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "issued_on", "amount", "unapplied_amount", "status", "source_reference"]
    list_filter = ["status"]
    search_fields = ["number", "source_reference", "customer__name"]
    list_select_related = ["customer"]


@admin.register(CreditRelease)
class CreditReleaseAdmin(ReadOnlyAdmin):
    list_display = ["customer", "valid_from", "valid_until", "granted_by", "revoked_at"]
    list_select_related = ["customer", "granted_by"]
