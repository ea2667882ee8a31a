from django.urls import path

from . import opening_balance_views, views

app_name = "finance"

urlpatterns = [
    path("receivables/", views.receivable_list, name="receivable_list"),
    path("receivables/<int:pk>/", views.receivable_detail, name="receivable_detail"),
    path("aging/", views.aging, name="aging"),
    path("customers/<int:pk>/statement/", views.statement, name="statement"),
    path("customers/<int:pk>/credit/", views.customer_credit, name="customer_credit"),
    path("payments/", views.payment_list, name="payment_list"),
    path("payments/new/", views.payment_create, name="payment_create"),
    path("payments/open-receivables/", views.open_receivables, name="open_receivables"),
    path("payments/<int:pk>/", views.payment_detail, name="payment_detail"),
    path("payments/<int:pk>/reverse/", views.payment_reverse, name="payment_reverse"),
    path("payments/<int:pk>/apply/", views.payment_apply, name="payment_apply"),
    path("credit-notes/", views.credit_note_list, name="credit_note_list"),
    path("credit-notes/new/", views.credit_note_create, name="credit_note_create"),
    path("credit-notes/receivables/", views.creditable_receivables, name="creditable_receivables"),
    path("credit-notes/<int:pk>/", views.credit_note_detail, name="credit_note_detail"),
    path("credit-notes/<int:pk>/apply/", views.credit_note_apply, name="credit_note_apply"),
    path("credit-notes/<int:pk>/reverse/", views.credit_note_reverse, name="credit_note_reverse"),
    path("credit-releases/", views.release_list, name="release_list"),
    path("credit-releases/<int:pk>/revoke/", views.release_revoke, name="release_revoke"),
    path("collection-rate/", views.collection_rate, name="collection_rate"),
    path("opening-balances/", opening_balance_views.opening_balance_list, name="opening_balance_list"),
    path("opening-balances/import/", opening_balance_views.opening_balance_import, name="opening_balance_import"),
    path("opening-balances/template/", opening_balance_views.opening_balance_template, name="opening_balance_template"),
]
