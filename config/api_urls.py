from django.urls import include, path
from rest_framework.routers import DefaultRouter

from dentalsales.accounts.api import TokenView
from dentalsales.catalog.api import ProductViewSet
from dentalsales.customers.api import CustomerViewSet
from dentalsales.inventory.api import ReceiptViewSet, ShipmentViewSet, WarehouseViewSet
from dentalsales.sales.api import OrderViewSet

router = DefaultRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("products", ProductViewSet, basename="product")
router.register("warehouses", WarehouseViewSet, basename="warehouse")
router.register("stock/receipts", ReceiptViewSet, basename="receipt")
router.register("orders", OrderViewSet, basename="order")
router.register("shipments", ShipmentViewSet, basename="shipment")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
