"""Reads on products."""

from django.db.models import Q

from dentalsales.core.pinyin import pinyin_full

from .models import Product


def search_products(queryset, text):
    """Filter by SKU, name, brand, manufacturer, specification, full pinyin or pinyin initials."""
    text = (text or "").strip().lower()
    if not text:
        return queryset
    condition = Q(search_text__contains=text) | Q(registration_number__icontains=text)
    compact = pinyin_full(text)
    if compact and compact != text:
        condition |= Q(search_text__contains=compact)
    return queryset.filter(condition)


def product_list(*, search="", category=None, device_class="", active_only=True):
    queryset = Product.objects.select_related("category")
    if active_only:
        queryset = queryset.filter(is_active=True)
    queryset = search_products(queryset, search)
    if category:
        queryset = queryset.filter(category=category)
    if device_class:
        queryset = queryset.filter(device_class=device_class)
    return queryset.order_by("sku")
