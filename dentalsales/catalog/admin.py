from django.contrib import admin

from dentalsales.core.admin_mixins import ReadOnlyAdmin

from .models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "parent"]
    search_fields = ["code", "name", "name_en"]


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = [
        "sku", "name", "specification", "device_class", "registration_number", "registration_valid_until",
        "requires_drug_licence", "is_active",
    ]
    list_filter = ["device_class", "requires_drug_licence", "is_active", "category"]
    search_fields = ["sku", "name", "name_en", "registration_number"]
    list_select_related = ["category"]
