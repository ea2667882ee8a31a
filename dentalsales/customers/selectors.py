"""Reads on customers, scoped to what the user may see."""

from django.db.models import Prefetch, Q

from dentalsales.accounts.selectors import owner_visibility
from dentalsales.core.pinyin import pinyin_full

from .models import Customer, Qualification


def visible_customers(user):
    return Customer.objects.filter(owner_visibility(user))


def search_customers(queryset, text):
    """Filter by code, name, USCC, full pinyin or pinyin initials (``bjkq`` finds 北京…口腔)."""
    text = (text or "").strip().lower()
    if not text:
        return queryset
    condition = Q(search_text__contains=text) | Q(contact_phone__contains=text)
    compact = pinyin_full(text)
    if compact and compact != text:
        condition |= Q(search_text__contains=compact)
    return queryset.filter(condition)


def customer_list(user, *, search="", customer_type="", category="", grade="", owner=None):
    queryset = visible_customers(user).select_related("owner", "region").prefetch_related(
        Prefetch("qualifications", queryset=Qualification.objects.order_by("kind"))
    )
    queryset = search_customers(queryset, search)
    if customer_type:
        queryset = queryset.filter(customer_type=customer_type)
    if category:
        queryset = queryset.filter(category=category)
    if grade:
        queryset = queryset.filter(grade=grade)
    if owner:
        queryset = queryset.filter(owner=owner)
    return queryset.order_by("code")
