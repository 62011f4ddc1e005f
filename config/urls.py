from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from routing.doors import django_views
from routing.providers import simulator

urlpatterns = [
    path("", RedirectView.as_view(url="/playground/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("metrics", django_views.metrics),
    re_path(r"^v1(/.*)?$", django_views.v1),
    path("sim/v1/chat/completions", simulator.chat_completions),
    path("sim/v1/embeddings", simulator.embeddings),
    path("sim/v1/models", simulator.models),
    path("playground/", include("playground.urls")),
    path("costcalc/", include("costcalc.urls")),
    path("batch/", include("batch.urls")),
    path("usage/", include("usage.urls")),
    path("models/", include("modelpages.urls")),
]
