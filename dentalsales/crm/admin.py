from django.contrib import admin

from dentalsales.core.admin_mixins import ReadOnlyAdmin, ReadOnlyPlainAdmin

from .models import Activity, CrmPolicy, ExportLog, Gift, ImportJob, Prospect, RevisitInterval, RevisitPlan


@admin.register(RevisitInterval)
class RevisitIntervalAdmin(admin.ModelAdmin):
    """Configuration: days between revisits per grade (A, B, C) and for potential customers (potential)."""

    list_display = ["key", "days"]


@admin.register(CrmPolicy)
class CrmPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "gift_approval_threshold", "revisit_due_soon_days"]

    def has_add_permission(self, request):
        return not CrmPolicy.objects.exists()


@admin.register(Prospect)
class ProspectAdmin(ReadOnlyAdmin):
    list_display = ["customer", "source", "stage", "created_at"]
    list_filter = ["source", "stage"]
    list_select_related = ["customer"]


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["occurred_on", "kind", "customer", "owner", "status"]
    list_filter = ["kind", "status"]
    list_select_related = ["customer", "owner"]


@admin.register(RevisitPlan)
class RevisitPlanAdmin(ReadOnlyPlainAdmin):
    list_display = ["due_on", "customer", "owner", "status"]
    list_filter = ["status"]
    list_select_related = ["customer", "owner"]


@admin.register(Gift)
class GiftAdmin(ReadOnlyAdmin):
    list_display = ["given_on", "customer", "description", "value", "status", "owner"]
    list_filter = ["status", "kind"]
    list_select_related = ["customer", "owner"]


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyPlainAdmin):
    list_display = ["created_at", "user", "list_name", "row_count", "filters"]
    list_filter = ["list_name"]
    list_select_related = ["user"]


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyPlainAdmin):
    list_display = ["created_at", "created_by", "kind", "file_name", "status", "total_rows", "processed_rows"]
    list_filter = ["kind", "status"]
    exclude = ["rows"]
