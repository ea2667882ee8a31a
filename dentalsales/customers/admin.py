from django.contrib import admin

from dentalsales.core.admin_mixins import ReadOnlyAdmin

from .models import Customer, Qualification


class QualificationInline(admin.TabularInline):
    model = Qualification
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "number", "valid_until"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "customer_type", "category", "grade", "owner", "is_active"]
    list_filter = ["customer_type", "category", "grade", "is_active"]
    search_fields = ["code", "name", "uscc"]
    list_select_related = ["owner"]
    inlines = [QualificationInline]


@admin.register(Qualification)
class QualificationAdmin(ReadOnlyAdmin):
    list_display = ["customer", "kind", "number", "valid_until"]
    list_filter = ["kind"]
    search_fields = ["number", "customer__name", "customer__code"]
    list_select_related = ["customer"]
