from django.urls import include, path
from rest_framework.routers import DefaultRouter

from dentalsales.accounts.api import TokenView
from dentalsales.catalog.api import ProductViewSet
from dentalsales.customers.api import CustomerViewSet
from dentalsales.inventory.api import ReceiptViewSet, ShipmentViewSet, WarehouseViewSet
from dentalsales.notifications.api import NotificationViewSet
from dentalsales.pricing.api import (
    DiscountAuthorityViewSet,
    LockedPriceViewSet,
    PaymentTermDiscountViewSet,
    PriceListViewSet,
    ProductPriceView,
)
from dentalsales.sales.api import OrderViewSet
from dentalsales.sales.contract_api import ContractViewSet
from dentalsales.sales.quotation_api import QuotationViewSet

router = DefaultRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("products", ProductViewSet, basename="product")
router.register("warehouses", WarehouseViewSet, basename="warehouse")
router.register("stock/receipts", ReceiptViewSet, basename="receipt")
router.register("orders", OrderViewSet, basename="order")
router.register("quotations", QuotationViewSet, basename="quotation")
router.register("contracts", ContractViewSet, basename="contract")
router.register("shipments", ShipmentViewSet, basename="shipment")
router.register("price-lists", PriceListViewSet, basename="price-list")
router.register("locked-prices", LockedPriceViewSet, basename="locked-price")
router.register("payment-term-discounts", PaymentTermDiscountViewSet, basename="payment-term-discount")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("discount-authorities", DiscountAuthorityViewSet, basename="discount-authority")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    # Before the router, whose product routes would otherwise match first.
    path("products/<int:pk>/price/", ProductPriceView.as_view(), name="api-product-price"),
    path("", include(router.urls)),
]
