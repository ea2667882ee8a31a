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


@register.simple_tag(takes_context=True)
def customer_crm_summary(context, customer):
    """Return the customer page's customer-development panel data; see ``crm.selectors.customer_crm_summary``.

    Returns None for roles without the customer-development menu, whose
    customer page then shows no panel with links they could not follow.
    """
    from dentalsales.accounts.roles import SALES_ROLES
    from dentalsales.crm.selectors import customer_crm_summary as summary

    request = context.get("request")
    if request is None or not request.user.has_role(*SALES_ROLES):
        return None
    return summary(customer)
