from django.urls import path

from . import views

app_name = "quality"
urlpatterns = [
    path("recalls/", views.recall_list, name="recall_list"),
    path("recalls/new/", views.recall_create, name="recall_create"),
    path("recalls/lot-choices/", views.recall_lot_choices, name="recall_lot_choices"),
    path("recalls/<int:pk>/", views.recall_detail, name="recall_detail"),
    path("recalls/<int:pk>/edit/", views.recall_edit, name="recall_edit"),
    path("recalls/<int:pk>/open/", views.recall_open, name="recall_open"),
    path("recalls/<int:pk>/close/", views.recall_close, name="recall_close"),
    path("recalls/<int:pk>/withdraw/", views.recall_withdraw, name="recall_withdraw"),
    path("recalls/<int:pk>/export/", views.recall_export, name="recall_export"),
    path("recalls/<int:pk>/print/", views.recall_print, name="recall_print"),
    path("recalls/<int:pk>/customers/<int:customer_id>/notify/", views.recall_notify, name="recall_notify"),
    path("recalls/<int:pk>/customers/<int:customer_id>/acknowledge/", views.recall_acknowledge, name="recall_acknowledge"),
    path("recalls/<int:pk>/customers/<int:customer_id>/recover/", views.recall_recover, name="recall_recover"),
    path("expiry/", views.expiry_radar, name="expiry_radar"),
]
