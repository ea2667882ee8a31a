"""Demo outbound reviews, dispatches, deliveries, a quarantined and a rejected receipt, a transfer and stock counts.

Runs after the demo orders have picked their shipments. The quality
officer reviews most shipments and logistics dispatches them. Shipments of
completed orders are also delivered with a signed receipt. The last two
stay at the warehouse, so that every shipment state shows on the screens:
one waits for review after a failed review, the other waits for dispatch.
"""

import datetime

from django.core.files.base import ContentFile
from django.db.models import F

from dentalsales.inventory import shipping, stock_control
from dentalsales.inventory.models import (
    InspectionResult,
    ReviewLineResult,
    Shipment,
    ShipmentStatus,
    StockBalance,
)
from dentalsales.inventory.services import receive_stock

# A one-page PDF standing in for the scan of a signed receipt.
SIGNED_RECEIPT_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _tick_all(shipment, result=ReviewLineResult.OK, note=""):
    return {line.pk: {"result": result, "note": note} for line in shipment.lines.all()}


def _review_and_dispatch(shipment, *, logistics, quality):
    shipping.review_shipment(actor=quality, shipment=shipment, lines=_tick_all(shipment), note="外包装完好，标签与随货单一致")
    shipping.dispatch_shipment(actor=logistics, shipment=shipment)


def deliver_order_shipments(order, *, users):
    """Review, dispatch and confirm delivery of every picked shipment of ``order``, so that it can be completed."""
    logistics, quality = users["logistics"], users["quality"]
    for shipment in order.shipments.filter(status=ShipmentStatus.PICKED).order_by("pk"):
        _review_and_dispatch(shipment, logistics=logistics, quality=quality)
        receipt = ContentFile(SIGNED_RECEIPT_PDF, name=f"{shipment.number}-签收单.pdf")
        shipping.confirm_delivery(actor=logistics, shipment=shipment, signed_receipt=receipt)


def move_demo_shipments(*, users, today):
    """Review and dispatch the demo shipments still at the warehouse; return the number dispatched.

    Shipments of completed orders were delivered when their orders closed.
    """
    logistics, quality = users["logistics"], users["quality"]
    shipments = list(Shipment.objects.filter(status=ShipmentStatus.PICKED).select_related("order").order_by("pk"))
    waiting = shipments[-2:] if len(shipments) > 3 else []
    dispatched = 0
    for shipment in shipments:
        if shipment in waiting:
            continue
        _review_and_dispatch(shipment, logistics=logistics, quality=quality)
        dispatched += 1
    if waiting:
        failed, reviewed = waiting
        shipping.review_shipment(
            actor=quality, shipment=failed, lines=_tick_all(failed, ReviewLineResult.DAMAGED, "一盒外包装破损，待更换后复核")
        )
        shipping.review_shipment(actor=quality, shipment=reviewed, lines=_tick_all(reviewed))
    return dispatched


def create_stock_control_records(*, users, products, warehouses, today):
    """Add a quarantined and a rejected receipt, a transfer and two stock counts (one approved, one waiting)."""
    logistics, manager = users["logistics"], users["manager"]
    valid = [product for product, _spec in products if product.registration_valid_on(today)]
    if len(valid) < 2 or len(warehouses) < 2:
        return
    production = today - datetime.timedelta(days=20)
    expiry = today + datetime.timedelta(days=720)
    receive_stock(
        actor=logistics, product=valid[0], warehouse=warehouses[0], lot_number=f"QT{today:%y%m%d}01",
        production_date=production, expiry_date=expiry, quantity=12, supplier="上海齿科材料有限公司",
        inspection_result=InspectionResult.QUARANTINED, inspection_note="冷链温度记录缺失，待质量负责人判定",
    )
    receive_stock(
        actor=logistics, product=valid[1], warehouse=warehouses[0], lot_number=f"RJ{today:%y%m%d}01",
        production_date=production, expiry_date=expiry, quantity=20, supplier="广州口腔器械有限公司",
        inspection_result=InspectionResult.REJECTED, inspection_note="标签批号与随货同行单不一致，已退回供货者",
    )

    balances = list(
        StockBalance.objects.filter(warehouse=warehouses[0], on_hand__gt=F("reserved") + 5, lot__status="available", lot__expiry_date__gt=today)
        .select_related("lot")
        .order_by("lot__product__sku", "lot__expiry_date")[:3]
    )
    if not balances:
        return
    first = balances[0]
    stock_control.transfer_stock(
        actor=logistics, lot=first.lot, from_warehouse=warehouses[0], to_warehouse=warehouses[1], quantity=2, note="成都仓补货"
    )
    first.refresh_from_db()
    approved = stock_control.submit_stock_count(
        actor=logistics, warehouse=warehouses[0], lines=[{"lot": first.lot, "counted_quantity": first.on_hand - 1, "reason": "盘点发现破损 1 件，已报废"}]
    )
    stock_control.approve_stock_count(actor=manager, count=approved, note="已核对破损照片")
    stock_control.submit_stock_count(
        actor=logistics,
        warehouse=warehouses[0],
        lines=[
            {"lot": balance.lot, "counted_quantity": balance.on_hand + (1 if index == 0 else 0), "reason": "上次入库少记 1 件" if index == 0 else ""}
            for index, balance in enumerate(balances[1:])
        ]
        or [{"lot": first.lot, "counted_quantity": first.on_hand}],
    )
