"""Demo price policy: discount authority, grade price lists with volume tiers, a locked price and a cash discount."""

import datetime
from decimal import Decimal

from dentalsales.core.money import round_price
from dentalsales.pricing.services import (
    create_discount_authority,
    create_locked_price,
    create_payment_term_discount,
    create_price_list,
)

# Lowest share of list price each role may give without approval.
AUTHORITY = {"representative": Decimal("0.90"), "supervisor": Decimal("0.80"), "manager": Decimal("0.70")}
# (grade, share of list price, tier lower bound, share at the tier)
GRADE_LISTS = [("A", Decimal("0.92"), 50, Decimal("0.88")), ("B", Decimal("0.96"), 100, Decimal("0.92"))]
LISTED_PRODUCTS = 40


def create_price_policy(*, actor, products, customers, today):
    """Create the demo price policy through the pricing services; return the number of price lists."""
    for role, share in AUTHORITY.items():
        create_discount_authority(actor=actor, role=role, min_share_of_list=share)

    sellable = [product for product, _spec in products if product.registration_valid_on(today)][:LISTED_PRODUCTS]
    for grade, share, tier_from, tier_share in GRADE_LISTS:
        create_price_list(
            actor=actor,
            name=f"{today.year} {grade}级客户价格表",
            kind="grade",
            grade=grade,
            valid_from=datetime.date(today.year, 1, 1),
            valid_until=datetime.date(today.year + 1, 12, 31),
            priority=10,
            items=[
                {
                    "product": product,
                    "unit_price": round_price(product.list_price * share),
                    "tiers": [{"min_quantity": tier_from, "unit_price": round_price(product.list_price * tier_share)}],
                }
                for product in sellable
            ],
        )

    key_customer = next((customer for customer in customers if customer.category == "key"), None)
    if key_customer is not None and sellable:
        product = sellable[0]
        create_locked_price(
            actor=actor,
            customer=key_customer,
            product=product,
            unit_price=round_price(product.list_price * Decimal("0.85")),
            valid_from=today - datetime.timedelta(days=30),
            valid_until=today + datetime.timedelta(days=335),
            source="tender",
            source_reference=f"ZB-{today.year}-031",
        )
    create_payment_term_discount(actor=actor, max_payment_terms_days=0, discount_rate=Decimal("0.02"))
    return len(GRADE_LISTS)
