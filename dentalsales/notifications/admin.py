from django.contrib import admin

from dentalsales.core.admin_mixins import ReadOnlyPlainAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyPlainAdmin):
    list_display = ["title", "recipient", "category", "created_at", "read_at"]
    list_filter = ["category"]
    search_fields = ["title", "recipient__username"]
    list_select_related = ["recipient"]
