from django.urls import path

from . import contract_views, quotation_views, views

app_name = "sales"
urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("review/", views.review_queue, name="review_queue"),
    path("new/", views.order_create, name="order_create"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
    path("<int:pk>/edit/", views.order_edit, name="order_edit"),
    path("<int:pk>/review/", views.order_review, name="order_review"),
    path("<int:pk>/submit/", views.order_submit, name="order_submit"),
    path("<int:pk>/approve/", views.order_approve, name="order_approve"),
    path("<int:pk>/reject/", views.order_reject, name="order_reject"),
    path("<int:pk>/release/", views.order_release, name="order_release"),
    path("<int:pk>/ship/", views.order_ship, name="order_ship"),
    path("<int:pk>/complete/", views.order_complete, name="order_complete"),
    path("<int:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("quotations/", quotation_views.quotation_list, name="quotation_list"),
    path("quotations/new/", quotation_views.quotation_create, name="quotation_create"),
    path("quotations/<int:pk>/", quotation_views.quotation_detail, name="quotation_detail"),
    path("quotations/<int:pk>/edit/", quotation_views.quotation_edit, name="quotation_edit"),
    path("quotations/<int:pk>/print/", quotation_views.quotation_print, name="quotation_print"),
    path("quotations/<int:pk>/send/", quotation_views.quotation_send, name="quotation_send"),
    path("quotations/<int:pk>/accept/", quotation_views.quotation_accept, name="quotation_accept"),
    path("quotations/<int:pk>/lose/", quotation_views.quotation_lose, name="quotation_lose"),
    path("contracts/", contract_views.contract_list, name="contract_list"),
    path("contracts/new/", contract_views.contract_create, name="contract_create"),
    path("contracts/<int:pk>/", contract_views.contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/edit/", contract_views.contract_edit, name="contract_edit"),
    path("contracts/<int:pk>/print/", contract_views.contract_print, name="contract_print"),
    path("quotations/<int:pk>/accept-contract/", quotation_views.quotation_accept_contract, name="quotation_accept_contract"),
    path("contracts/<int:pk>/signed-copy/", contract_views.contract_signed_copy, name="contract_signed_copy"),
    path("contracts/<int:pk>/order/", contract_views.contract_order, name="contract_order"),
    path("contracts/<int:pk>/<slug:action>/", contract_views.contract_action, name="contract_action"),
]
