"""Read-only admin pages with history: prices change through the pricing screens and API, whose services check them."""

from django.contrib import admin

from dentalsales.core.admin_mixins import ReadOnlyAdmin

from .models import (
    DiscountAuthority,
    LockedPrice,
    PaymentTermDiscount,
    PriceList,
    PriceListItem,
    VolumeTier,
)


class VolumeTierInline(admin.TabularInline):
    model = VolumeTier
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PriceListItemInline(VolumeTierInline):
    model = PriceListItem
    raw_id_fields = ["product"]


@admin.register(PriceList)
class PriceListAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "grade", "customer", "valid_from", "valid_until", "priority", "is_active"]
    list_filter = ["kind", "grade", "is_active"]
    search_fields = ["name", "customer__name", "customer__code"]
    list_select_related = ["customer"]
    inlines = [PriceListItemInline]


@admin.register(PriceListItem)
class PriceListItemAdmin(ReadOnlyAdmin):
    list_display = ["price_list", "product", "unit_price"]
    list_select_related = ["price_list", "product"]
    search_fields = ["price_list__name", "product__sku", "product__name"]
    inlines = [VolumeTierInline]


@admin.register(LockedPrice)
class LockedPriceAdmin(ReadOnlyAdmin):
    list_display = ["customer", "product", "unit_price", "valid_from", "valid_until", "source", "source_reference", "is_active"]
    list_filter = ["source", "is_active"]
    search_fields = ["customer__name", "customer__code", "product__sku", "source_reference"]
    list_select_related = ["customer", "product"]


@admin.register(PaymentTermDiscount)
class PaymentTermDiscountAdmin(ReadOnlyAdmin):
    list_display = ["max_payment_terms_days", "discount_rate", "is_active", "note"]
    list_filter = ["is_active"]


@admin.register(DiscountAuthority)
class DiscountAuthorityAdmin(ReadOnlyAdmin):
    list_display = ["role", "category", "min_share_of_list"]
    list_filter = ["role"]
    list_select_related = ["category"]
