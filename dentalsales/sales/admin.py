from django.contrib import admin

from dentalsales.core.admin_mixins import ReadOnlyAdmin

from .models import Contract, OrderStatusChange, Quotation, SalesOrder


class StatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "to_status", "actor", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SalesOrder)
class SalesOrderAdmin(ReadOnlyAdmin):
    list_display = ["number", "order_date", "customer", "owner", "status", "total_amount"]
    list_filter = ["status", "channel"]
    search_fields = ["number", "customer__name", "customer__code"]
    list_select_related = ["customer", "owner"]
    inlines = [StatusChangeInline]


@admin.register(Quotation)
class QuotationAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "owner", "status", "valid_until", "total_amount"]
    list_filter = ["status"]
    search_fields = ["number", "customer__name", "customer__code"]
    list_select_related = ["customer", "owner"]


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "owner", "status", "start_date", "end_date", "total_amount"]
    list_filter = ["status"]
    search_fields = ["number", "customer__name", "customer__code"]
    list_select_related = ["customer", "owner"]
