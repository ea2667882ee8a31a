from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    path("stock/", views.stock_list, name="stock_list"),
    path("stock/receive/", views.receive, name="receive"),
    path("shipments/", views.shipment_list, name="shipment_list"),
    path("shipments/<int:pk>/", views.shipment_detail, name="shipment_detail"),
    path("shipments/<int:pk>/delivery-note/", views.delivery_note, name="delivery_note"),
    path("shipments/<int:pk>/delivery-note/print/", views.delivery_note_print, name="delivery_note_print"),
    path("shipments/<int:pk>/cancel-picking/", views.shipment_cancel_picking, name="shipment_cancel_picking"),
    path("shipments/<int:pk>/review/", views.shipment_review, name="shipment_review"),
    path("shipments/<int:pk>/reviews/<int:review_pk>/", views.review_record, name="review_record"),
    path("shipments/<int:pk>/dispatch/", views.shipment_dispatch, name="shipment_dispatch"),
    path("shipments/<int:pk>/confirm-delivery/", views.shipment_confirm_delivery, name="shipment_confirm_delivery"),
    path("shipments/<int:pk>/signed-receipt/", views.shipment_signed_receipt, name="shipment_signed_receipt"),
    path("stock/ledger/", views.ledger, name="ledger"),
    path("stock/quarantine/", views.quarantine_list, name="quarantine_list"),
    path("stock/transfers/", views.transfer_list, name="transfer_list"),
    path("stock/counts/", views.stock_count_list, name="stock_count_list"),
    path("stock/counts/new/", views.stock_count_create, name="stock_count_create"),
    path("stock/counts/<int:pk>/", views.stock_count_detail, name="stock_count_detail"),
]
