from django.urls import path

from . import views

app_name = "aftersales"
urlpatterns = [
    path("complaints/", views.complaint_list, name="complaint_list"),
    path("complaints/new/", views.complaint_create, name="complaint_create"),
    path("complaints/adverse-events/", views.adverse_event_queue, name="adverse_event_queue"),
    path("complaints/<int:pk>/", views.complaint_detail, name="complaint_detail"),
    path("complaints/<int:pk>/edit/", views.complaint_edit, name="complaint_edit"),
    path("complaints/<int:pk>/<slug:action>/", views.complaint_action, name="complaint_action"),
    path("returns/", views.return_list, name="return_list"),
    path("returns/new/", views.return_create, name="return_create"),
    path("returns/scan/", views.return_scan, name="return_scan"),
    path("returns/<int:pk>/", views.return_detail, name="return_detail"),
    path("returns/<int:pk>/<slug:action>/", views.return_action, name="return_action"),
    path("callbacks/", views.callback_list, name="callback_list"),
    path("callbacks/<int:pk>/record/", views.callback_record, name="callback_record"),
    path("satisfaction/", views.satisfaction_report, name="satisfaction_report"),
]
