from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    return mapping.get(key, "")


@register.filter
def rate(value):
    """Format a share such as 0.256 as ``25.6%``; no value (nothing to divide by) shows as an em dash."""
    if value is None or value == "":
        return "—"
    return f"{value * 100:.1f}%"


@register.simple_tag
def customer_crm_summary(customer):
    """Return the customer page's customer-development panel data; four queries."""
    from dentalsales.crm.selectors import customer_crm_summary as summary

    return summary(customer)
