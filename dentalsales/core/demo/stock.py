"""Demo warehouses and lots, received through ``receive_stock``."""

import datetime
import random

from dentalsales.inventory.models import Warehouse
from dentalsales.inventory.services import receive_stock

WAREHOUSES = [
    ("SH01", "上海中心仓", "上海市浦东新区张江路 88 号（演示地址）"),
    ("CD01", "成都西南仓", "四川省成都市武侯区科华北路 66 号（演示地址）"),
]
# Share of products stocked with several lots, so that first-expiry-first-out shows.
POPULAR_SHARE = 0.25


def create_warehouses():
    return [Warehouse.objects.create(code=code, name=name, address=address) for code, name, address in WAREHOUSES]


def _lot_expiries(rng, popular, today):
    """Return the days until expiry of each lot to receive.

    A popular product gets a short-dated lot and two long-dated ones, and
    half the time an expired one too; other products get one or two lots.
    """
    if popular:
        days = [rng.randint(-90, -5), rng.randint(40, 170), rng.randint(300, 700), rng.randint(600, 1300)]
        return days if rng.random() < 0.5 else days[1:]
    kind = rng.random()
    if kind < 0.06:
        return [rng.randint(-120, -3)]
    if kind < 0.24:
        return [rng.randint(30, 170), rng.randint(400, 1100)]
    return [rng.randint(250, 1400)]


def _quantity(rng, product):
    if product.list_price >= 1000:
        return rng.randint(10, 40)
    if product.list_price >= 200:
        return rng.randint(30, 120)
    return rng.randint(80, 400)


def receive_demo_stock(*, actor, products, warehouses, today):
    """Receive lots for every product whose registration is valid; return the number of receipts."""
    rng = random.Random("dentalsales-demo-stock")
    receipts = 0
    for product, spec in products:
        # receive_stock refuses products whose registration has lapsed.
        if not product.registration_valid_on(today):
            continue
        popular = rng.random() < POPULAR_SHARE
        for index, days in enumerate(sorted(_lot_expiries(rng, popular, today))):
            expiry = today + datetime.timedelta(days=days)
            shelf_life = datetime.timedelta(days=spec.shelf_life_months * 30)
            production = min(expiry - shelf_life, today - datetime.timedelta(days=rng.randint(15, 120)))
            warehouse = warehouses[0] if index % 2 == 0 or len(warehouses) == 1 else warehouses[1]
            receive_stock(
                actor=actor,
                product=product,
                warehouse=warehouse,
                # The product id keeps lot numbers unique across products, as receive_stock requires.
                lot_number=f"{production:%y%m%d}{product.pk:03d}{index + 1}",
                production_date=production,
                expiry_date=expiry,
                quantity=_quantity(rng, product),
                # Received soon after production, so that lots that have
                # expired since then can be entered as past receipts.
                received_on=min(today, production + datetime.timedelta(days=14)),
            )
            receipts += 1
    return receipts
