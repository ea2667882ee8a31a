from django.contrib import admin

from dentalsales.core.admin_mixins import ReadOnlyAdmin

from .models import Recall, RecallCustomer


class RecallCustomerInline(admin.TabularInline):
    model = RecallCustomer
    extra = 0
    can_delete = False
    fields = ["customer", "quantity_shipped", "notified_at", "acknowledged_at", "quantity_recovered"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Recall)
class RecallAdmin(ReadOnlyAdmin):
    list_display = ["number", "product", "level", "status", "created_at", "opened_at", "closed_at"]
    list_filter = ["status", "level"]
    search_fields = ["number", "product__sku", "product__name", "lots__lot_number"]
    list_select_related = ["product"]
    inlines = [RecallCustomerInline]
