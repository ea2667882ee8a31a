from django.contrib import admin

from .models import DocumentSequence, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "full_name", "level", "is_statistical_zone"]
    list_filter = ["level", "is_statistical_zone"]
    search_fields = ["code", "name", "full_name"]


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(admin.ModelAdmin):
    list_display = ["prefix", "day", "last_value"]
    list_filter = ["prefix"]
    readonly_fields = ["prefix", "day", "last_value"]
