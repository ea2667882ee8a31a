from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Complaint, ComplaintAction, ReturnLine, ReturnRequest, ReturnStatusChange, SatisfactionCallback


class ComplaintActionInline(admin.TabularInline):
    model = ComplaintAction
    extra = 0
    readonly_fields = ["from_status", "to_status", "note", "actor", "created_at"]
    can_delete = False


@admin.register(Complaint)
class ComplaintAdmin(SimpleHistoryAdmin):
    list_display = ["number", "customer", "category", "severity", "status", "due_date", "owner", "suspected_adverse_event"]
    list_filter = ["status", "severity", "category", "suspected_adverse_event"]
    search_fields = ["number", "customer__name", "customer__code"]
    raw_id_fields = ["customer", "product", "lot", "owner", "escalated_to", "adverse_event_reviewed_by", "created_by"]
    # Status and due date change only through the services, which log each change.
    readonly_fields = ["number", "status", "due_date", "escalated_at", "resolved_at", "closed_at"]
    inlines = [ComplaintActionInline]


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    raw_id_fields = ["shipment_line", "lot", "product", "warehouse"]
    readonly_fields = ["quantity", "unit_price", "amount", "disposition"]
    can_delete = False


class ReturnStatusChangeInline(admin.TabularInline):
    model = ReturnStatusChange
    extra = 0
    readonly_fields = ["from_status", "to_status", "actor", "reason", "created_at"]
    can_delete = False


@admin.register(ReturnRequest)
class ReturnRequestAdmin(SimpleHistoryAdmin):
    list_display = ["number", "kind", "customer", "status", "total_amount", "owner", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["number", "customer__name", "customer__code"]
    raw_id_fields = ["customer", "owner", "replacement_order", "created_by"]
    # Quantities, status and money change only through the services, which lock and book stock.
    readonly_fields = ["number", "status", "total_amount", "credit_note_number"]
    inlines = [ReturnLineInline, ReturnStatusChangeInline]


@admin.register(SatisfactionCallback)
class SatisfactionCallbackAdmin(SimpleHistoryAdmin):
    list_display = ["shipment", "customer", "owner", "due_date", "status", "score"]
    list_filter = ["status"]
    raw_id_fields = ["shipment", "customer", "owner", "completed_by", "complaint"]
