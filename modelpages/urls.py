from django.urls import path

from . import views

app_name = "modelpages"

urlpatterns = [
    path("", views.index, name="index"),
    path("pick/", views.pick, name="pick"),
]
