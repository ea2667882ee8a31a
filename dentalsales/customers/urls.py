from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("regions/", views.region_search, name="regions"),
    path("autocomplete/", views.customer_autocomplete, name="autocomplete"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_update, name="update"),
    path("<int:pk>/qualifications/", views.customer_qualifications, name="qualifications"),
    path("<int:pk>/credit-terms/", views.customer_credit_terms, name="credit_terms"),
]
