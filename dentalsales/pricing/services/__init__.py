"""Writes on the price policy: price lists with items and tiers, locked prices, payment-term discounts, discount authority.

Only managers and administrators maintain prices. Every function checks all
its input before it writes. It raises ``InvalidInput`` naming each bad field
and value (``items[2].tiers[0].min_quantity`` for a tier), so nothing is
saved when any value is wrong. Writes run in one transaction, and rows are
saved one by one, not in bulk, so that django-simple-history records each.
"""

from .discounts import (
    PAYMENT_TERM_DISCOUNT_FIELDS,
    create_discount_authority,
    create_payment_term_discount,
    deactivate_payment_term_discount,
    remove_discount_authority,
    set_category_authorities,
    update_discount_authority,
    update_payment_term_discount,
)
from .locked_prices import (
    LOCKED_PRICE_FIELDS,
    create_locked_price,
    deactivate_locked_price,
    update_locked_price,
)
from .price_lists import (
    PRICE_LIST_FIELDS,
    create_price_list,
    deactivate_price_list,
    update_price_list,
)

__all__ = [
    "LOCKED_PRICE_FIELDS",
    "PAYMENT_TERM_DISCOUNT_FIELDS",
    "PRICE_LIST_FIELDS",
    "create_discount_authority",
    "create_locked_price",
    "create_payment_term_discount",
    "create_price_list",
    "deactivate_locked_price",
    "deactivate_payment_term_discount",
    "deactivate_price_list",
    "remove_discount_authority",
    "set_category_authorities",
    "update_discount_authority",
    "update_locked_price",
    "update_payment_term_discount",
    "update_price_list",
]
