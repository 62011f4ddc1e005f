from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from routing import api, simulator

urlpatterns = [
    path("", RedirectView.as_view(url="/playground/", permanent=False)),
    path("admin/", admin.site.urls),
    path("metrics", api.metrics),
    path("v1/models", api.models),
    re_path(r"^v1/models/(?P<model_id>.+)$", api.model_detail),
    path("v1/chat/completions", api.chat_completions),
    re_path(r"^v1/(?P<path>.*)$", api.not_found),
    path("sim/v1/chat/completions", simulator.chat_completions),
    path("sim/v1/models", simulator.models),
    path("playground/", include("playground.urls")),
    path("costcalc/", include("costcalc.urls")),
    path("batch/", include("batch.urls")),
    path("usage/", include("usage.urls")),
]
