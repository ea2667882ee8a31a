from django.urls import path

from . import views

app_name = "crm"
urlpatterns = [
    path("prospects/", views.prospect_list, name="prospect_list"),
    path("prospects/new/", views.prospect_create, name="prospect_create"),
    path("prospects/conversion/", views.conversion_report, name="conversion_report"),
    path("prospects/<int:pk>/", views.prospect_detail, name="prospect_detail"),
    path("prospects/<int:pk>/stage/", views.prospect_stage, name="prospect_stage"),
    path("activities/", views.activity_list, name="activity_list"),
    path("activities/new/", views.activity_create, name="activity_create"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path("activities/<int:pk>/submit/", views.activity_submit, name="activity_submit"),
    path("activities/<int:pk>/amend/", views.activity_amend, name="activity_amend"),
    path("revisits/", views.revisit_list, name="revisit_list"),
    path("revisits/report/", views.visit_report, name="visit_report"),
    path("gifts/", views.gift_list, name="gift_list"),
    path("gifts/new/", views.gift_create, name="gift_create"),
    path("gifts/report/", views.gift_report, name="gift_report"),
    path("gifts/<int:pk>/", views.gift_detail, name="gift_detail"),
    path("gifts/<int:pk>/edit/", views.gift_edit, name="gift_edit"),
    path("gifts/<int:pk>/<slug:action>/", views.gift_action, name="gift_action"),
]
