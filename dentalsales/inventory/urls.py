from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    path("stock/", views.stock_list, name="stock_list"),
    path("stock/receive/", views.receive, name="receive"),
    path("shipments/", views.shipment_list, name="shipment_list"),
    path("shipments/<int:pk>/", views.shipment_detail, name="shipment_detail"),
    path("shipments/<int:pk>/delivery-note/", views.delivery_note, name="delivery_note"),
]
