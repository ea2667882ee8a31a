from django import template
from django.utils.html import format_html

from dentalsales.core.money import format_money, format_price

register = template.Library()


@register.filter
def money(value):
    """Format an amount with thousands separators and two decimals."""
    return format_money(value)


@register.simple_tag(takes_context=True)
def query_replace(context, **changes):
    """Return the current query string with ``changes`` applied, for paging and sorting links."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


STATUS_COLOURS = {
    "draft": "secondary",
    "submitted": "info",
    "approved": "primary",
    "rejected": "danger",
    "released": "warning",
    "partially_shipped": "warning",
    "shipped": "success",
    "completed": "success",
    "cancelled": "dark",
    "available": "success",
    "quarantined": "warning",
    "recalled": "danger",
    "expired": "danger",
    "open": "danger",
    "in_progress": "warning",
    "waiting_for_customer": "info",
    "resolved": "success",
    "closed": "dark",
    "requested": "info",
    "received": "success",
    "scheduled": "info",
    "done": "success",
    "under_review": "info",
    "manager_review": "warning",
    "signed": "primary",
    "active": "success",
    "terminated": "dark",
    "sent": "info",
    "accepted": "success",
    "lost": "dark",
    "picked": "warning",
    "reviewed": "info",
    "dispatched": "primary",
    "delivered": "success",
}


@register.simple_tag
def status_badge(value, label):
    return format_html('<span class="badge status-badge text-bg-{}" data-status="{}">{}</span>', STATUS_COLOURS.get(value, "secondary"), value, label)


@register.filter
def price(value):
    """Format a unit price: two decimals, or up to four when the price has them."""
    return format_price(value)


@register.filter
def percent(value):
    """Format a rate such as ``0.13`` as ``13%``."""
    if value is None or value == "":
        return ""
    from dentalsales.core.money import to_decimal

    return f"{(to_decimal(value) * 100).normalize():f}%"
