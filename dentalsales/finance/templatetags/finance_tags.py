from django import template

from dentalsales.finance import selectors

register = template.Library()


@register.inclusion_tag("finance/_customer_credit_slot.html", takes_context=True)
def customer_credit(context, customer):
    """Render a placeholder that loads the customer's credit figures, for users who may see balances.

    The figures load with htmx so that the customer page keeps its own
    query count; other roles get nothing.
    """
    return {"visible": selectors.can_view_finance(context["request"].user), "customer": customer}
