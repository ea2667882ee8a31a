from django.urls import path

from . import views

app_name = "pricing"
urlpatterns = [
    path("", views.price_list_list, name="price_list_list"),
    path("new/", views.price_list_create, name="price_list_create"),
    path("<int:pk>/", views.price_list_detail, name="price_list_detail"),
    path("<int:pk>/edit/", views.price_list_update, name="price_list_update"),
    path("<int:pk>/deactivate/", views.price_list_deactivate, name="price_list_deactivate"),
    path("locked/", views.locked_price_list, name="locked_price_list"),
    path("locked/new/", views.locked_price_create, name="locked_price_create"),
    path("locked/<int:pk>/edit/", views.locked_price_update, name="locked_price_update"),
    path("locked/<int:pk>/deactivate/", views.locked_price_deactivate, name="locked_price_deactivate"),
    path("authority/", views.authority_list, name="authority_list"),
    path("payment-terms/", views.payment_term_discount_list, name="payment_term_discount_list"),
    path("payment-terms/<int:pk>/deactivate/", views.payment_term_discount_deactivate, name="payment_term_discount_deactivate"),
    path("check/", views.price_check, name="price_check"),
]
