from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from dentalsales.core.admin_mixins import ReadOnlyAdmin, ReadOnlyPlainAdmin

from .models import (
    GoodsReceipt,
    Lot,
    OutboundReview,
    Shipment,
    StockBalance,
    StockCount,
    StockLedgerEntry,
    StockTransfer,
    Warehouse,
)


@admin.register(Warehouse)
class WarehouseAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "address", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ["product", "lot_number", "production_date", "expiry_date", "status"]
    list_filter = ["status"]
    search_fields = ["lot_number", "product__sku", "product__name"]
    list_select_related = ["product"]


@admin.register(StockBalance)
class StockBalanceAdmin(ReadOnlyPlainAdmin):
    list_display = ["warehouse", "lot", "on_hand", "reserved"]
    list_select_related = ["warehouse", "lot"]


@admin.register(StockLedgerEntry)
class StockLedgerEntryAdmin(ReadOnlyPlainAdmin):
    list_display = ["created_at", "warehouse", "lot", "quantity", "reason", "reference", "created_by"]
    list_filter = ["reason", "warehouse"]
    search_fields = ["reference", "lot__lot_number"]
    list_select_related = ["warehouse", "lot", "created_by"]


@admin.register(GoodsReceipt)
class GoodsReceiptAdmin(ReadOnlyAdmin):
    list_display = ["number", "warehouse", "lot", "quantity", "received_by", "received_at"]
    search_fields = ["number", "lot__lot_number"]
    list_select_related = ["warehouse", "lot", "received_by"]


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ["number", "order", "customer", "status", "shipped_on", "carrier", "waybill_number"]
    list_filter = ["status"]
    search_fields = ["number", "order__number", "waybill_number"]
    list_select_related = ["order", "customer"]


@admin.register(OutboundReview)
class OutboundReviewAdmin(ReadOnlyPlainAdmin):
    list_display = ["shipment", "reviewer", "reviewed_at", "result"]
    list_filter = ["result"]
    search_fields = ["shipment__number"]
    list_select_related = ["shipment", "reviewer"]


@admin.register(StockCount)
class StockCountAdmin(ReadOnlyAdmin):
    list_display = ["number", "warehouse", "status", "counted_by", "counted_at", "decided_by"]
    list_filter = ["status", "warehouse"]
    search_fields = ["number"]
    list_select_related = ["warehouse", "counted_by", "decided_by"]


@admin.register(StockTransfer)
class StockTransferAdmin(ReadOnlyPlainAdmin):
    list_display = ["number", "lot", "from_warehouse", "to_warehouse", "quantity", "created_by", "created_at"]
    search_fields = ["number", "lot__lot_number"]
    list_select_related = ["lot", "from_warehouse", "to_warehouse", "created_by"]
