from django.contrib import admin

from dentalsales.core.admin_mixins import ReadOnlyAdmin

from .models import Contact, Customer, CustomerDocument, CustomerMerge, DeliveryAddress, GradeChange, Qualification


class QualificationInline(admin.TabularInline):
    model = Qualification
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "number", "valid_until", "verification_status"]

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
    list_display = ["customer", "kind", "number", "valid_until", "verification_status"]
    list_filter = ["kind", "verification_status"]
    search_fields = ["number", "customer__name", "customer__code"]
    list_select_related = ["customer"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["name", "customer", "title", "mobile", "decision_role", "is_primary"]
    list_filter = ["decision_role", "is_primary"]
    search_fields = ["name", "mobile", "customer__name", "customer__code"]
    list_select_related = ["customer"]


@admin.register(DeliveryAddress)
class DeliveryAddressAdmin(ReadOnlyAdmin):
    list_display = ["customer", "label", "region", "detail", "recipient", "is_default"]
    search_fields = ["customer__name", "customer__code", "detail"]
    list_select_related = ["customer", "region"]


@admin.register(CustomerDocument)
class CustomerDocumentAdmin(ReadOnlyAdmin):
    list_display = ["customer", "title", "kind", "size", "uploaded_by", "uploaded_at"]
    list_filter = ["kind"]
    list_select_related = ["customer", "uploaded_by"]


@admin.register(GradeChange)
class GradeChangeAdmin(ReadOnlyAdmin):
    list_display = ["customer", "old_grade", "new_grade", "source", "reason", "changed_by", "changed_at"]
    list_filter = ["source", "new_grade"]
    list_select_related = ["customer", "changed_by"]


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    list_display = ["kept", "merged_code", "merged_name", "merged_by", "merged_at"]
    list_select_related = ["kept", "merged_by"]
