from django.urls import include, path
from rest_framework.routers import DefaultRouter

from dentalsales.accounts.api import TokenView
from dentalsales.aftersales.api import CallbackViewSet, ComplaintViewSet, ReturnViewSet
from dentalsales.catalog.api import ProductViewSet
from dentalsales.crm.api import ActivityViewSet, GiftViewSet, ProspectViewSet, RevisitPlanViewSet
from dentalsales.customers.api import AddressViewSet, ContactViewSet, CustomerViewSet, DocumentViewSet
from dentalsales.finance.api import (
    CollectionRateView,
    CreditNoteViewSet,
    CreditReleaseViewSet,
    CustomerCreditView,
    PaymentViewSet,
    ReceivableViewSet,
)
from dentalsales.inventory.api import (
    LedgerViewSet,
    ReceiptViewSet,
    ShipmentViewSet,
    StockCountViewSet,
    TransferViewSet,
    WarehouseViewSet,
)
from dentalsales.inventory.lot_api import LotViewSet, UdiParseView
from dentalsales.notifications.api import NotificationViewSet
from dentalsales.pricing.api import (
    DiscountAuthorityViewSet,
    LockedPriceViewSet,
    PaymentTermDiscountViewSet,
    PriceListViewSet,
    ProductPriceView,
)
from dentalsales.quality.api import RecallViewSet
from dentalsales.sales.api import OrderViewSet
from dentalsales.sales.contract_api import ContractViewSet
from dentalsales.sales.quotation_api import QuotationViewSet

router = DefaultRouter()
router.register("prospects", ProspectViewSet, basename="prospect")
router.register("activities", ActivityViewSet, basename="activity")
router.register("revisit-plans", RevisitPlanViewSet, basename="revisit-plan")
router.register("gifts", GiftViewSet, basename="gift")
router.register("customers", CustomerViewSet, basename="customer")
router.register("contacts", ContactViewSet, basename="contact")
router.register("addresses", AddressViewSet, basename="address")
router.register("customer-documents", DocumentViewSet, basename="customer-document")
router.register("products", ProductViewSet, basename="product")
router.register("warehouses", WarehouseViewSet, basename="warehouse")
router.register("stock/receipts", ReceiptViewSet, basename="receipt")
router.register("stock/ledger", LedgerViewSet, basename="ledger-entry")
router.register("stock/transfers", TransferViewSet, basename="transfer")
router.register("stock/counts", StockCountViewSet, basename="stock-count")
router.register("orders", OrderViewSet, basename="order")
router.register("receivables", ReceivableViewSet, basename="receivable")
router.register("payments", PaymentViewSet, basename="payment")
router.register("credit-notes", CreditNoteViewSet, basename="credit-note")
router.register("credit-releases", CreditReleaseViewSet, basename="credit-release")
router.register("quotations", QuotationViewSet, basename="quotation")
router.register("contracts", ContractViewSet, basename="contract")
router.register("shipments", ShipmentViewSet, basename="shipment")
router.register("lots", LotViewSet, basename="lot")
router.register("recalls", RecallViewSet, basename="recall")
router.register("price-lists", PriceListViewSet, basename="price-list")
router.register("locked-prices", LockedPriceViewSet, basename="locked-price")
router.register("payment-term-discounts", PaymentTermDiscountViewSet, basename="payment-term-discount")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("discount-authorities", DiscountAuthorityViewSet, basename="discount-authority")
router.register("complaints", ComplaintViewSet, basename="complaint")
router.register("returns", ReturnViewSet, basename="return")
router.register("satisfaction-callbacks", CallbackViewSet, basename="satisfaction-callback")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("udi/parse/", UdiParseView.as_view(), name="api-udi-parse"),
    # Before the router, whose product routes would otherwise match first.
    path("products/<int:pk>/price/", ProductPriceView.as_view(), name="api-product-price"),
    path("customers/<int:pk>/credit/", CustomerCreditView.as_view(), name="api-customer-credit"),
    path("collection-rates/", CollectionRateView.as_view(), name="api-collection-rates"),
    path("", include(router.urls)),
]
