from django.urls import path

from batch import views

app_name = "batch"
urlpatterns = [
    path("", views.index, name="index"),
    path("estimate/", views.estimate, name="estimate"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job-progress"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job-cancel"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job-retry"),
    path("jobs/<int:pk>/delete/", views.job_delete, name="job-delete"),
    path("jobs/<int:pk>/<str:kind>/", views.job_download, name="job-download"),
]
