from django.urls import URLPattern, path

from playground import views

app_name = "playground"

urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("run/", views.run, name="run"),
    path("models/", views.model_search, name="model_search"),
    path("pane-row/", views.pane_row, name="pane_row"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/", views.recent_runs, name="recent_runs"),
    path("runs/<int:pk>/delete/", views.delete_run, name="delete_run"),
    path("runs/<int:pk>/rate/", views.rate_run, name="rate_run"),
    path("runs/<int:pk>/export.<str:fmt>", views.export_run, name="export_run"),
]
