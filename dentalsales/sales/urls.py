from django.urls import path

from . import views

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
]
