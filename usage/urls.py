from django.urls import path

from . import views

app_name = "usage"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("requests/", views.request_log, name="requests"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
]
