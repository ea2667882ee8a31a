"""Demo UDI-DIs and a recall drill: one open recall with follow-up under way and one draft."""

from django.db.models import Count

from dentalsales.catalog.models import Product
from dentalsales.inventory.models import ShipmentLine, ShipmentStatus
from dentalsales.inventory.udi import gtin_check_digit
from dentalsales.quality import services as recalls

# GS1 China's prefixes are 690 to 699; this company prefix is made up for the demo.
DEMO_COMPANY_PREFIX = "6975555"


def assign_demo_udi_dis(products):
    """Give every demo product without a UDI-DI a GTIN-14 with a valid check digit, so that scanning finds it."""
    changed = []
    for index, (product, _spec) in enumerate(products, start=1):
        if product.udi_di:
            continue
        body = f"0{DEMO_COMPANY_PREFIX}{index:05d}"
        product.udi_di = body + gtin_check_digit(body)
        changed.append(product)
    Product.objects.bulk_update(changed, ["udi_di"])
    return len(changed)


def _most_shipped_lots(limit):
    """Return lot ids dispatched to the most customers, most first."""
    rows = (
        ShipmentLine.objects.filter(shipment__status__in=[ShipmentStatus.DISPATCHED, ShipmentStatus.DELIVERED])
        .values("lot_id", "product_id")
        .annotate(customers=Count("shipment__customer", distinct=True))
        .order_by("-customers", "lot_id")[:limit]
    )
    return list(rows)


def create_recall_drill(*, users):
    """Open a level II recall on the lot shipped to the most customers and record part of the follow-up; draft a second one."""
    quality = users["quality"]
    candidates = _most_shipped_lots(10)
    if not candidates:
        return []

    first = candidates[0]
    recall = recalls.create_recall(
        actor=quality,
        product=first["product_id"],
        lots=[first["lot_id"]],
        level="2",
        reason="生产企业通知：该批次部分产品内包装封口不严，可能影响产品性能，要求经营企业暂停销售并召回。",
        source="生产企业召回通知（演示）",
    )
    recall = recalls.open_recall(actor=quality, recall=recall)

    rows = list(recall.customers.select_related("customer").order_by("customer__code"))
    for index, row in enumerate(rows):
        if index % 2 == 0:
            recalls.record_notification(actor=quality, recall=recall, customer=row.customer, method="电话")
        if index == 0:
            recalls.record_acknowledgement(actor=quality, recall=recall, customer=row.customer, note="客户已回传召回确认函")
            recalls.record_recovered_quantity(actor=quality, recall=recall, customer=row.customer, quantity=row.quantity_shipped)

    created = [recall]
    other = next((row for row in candidates[1:] if row["product_id"] != first["product_id"]), None)
    if other:
        created.append(
            recalls.create_recall(
                actor=quality,
                product=other["product_id"],
                lots=[other["lot_id"]],
                level="3",
                reason="标签印刷的有效期与包装不一致，待生产企业确认后决定是否召回。",
            )
        )
    return created
