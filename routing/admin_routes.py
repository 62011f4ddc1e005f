"""The routing table in the admin: routes with inline targets, validation, and a dry run."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from routing import catalog, latency
from routing.errors import GatewayError
from routing.gateway import score_prompt
from routing.models import Route, RouteTarget
from routing.policies import PolicyInput, plan_for
from routing.routetable import CatalogIndex, route_problems


class TargetFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        rows.sort(key=lambda r: r.get("position") or 0)
        route = self.instance
        data = {
            "slug": route.slug,
            "strategy": route.strategy,
            "fallbacks": route.fallbacks,
            "judge_model": route.judge_model,
            "max_cost_usd": route.max_cost_usd,
            "targets": [
                {
                    k: r.get(k)
                    for k in (
                        "model",
                        "query_type",
                        "max_score",
                        "max_tokens",
                        "temperature",
                        "fallbacks",
                    )
                }
                for r in rows
            ],
        }
        problems = route_problems(data, CatalogIndex.load())
        if problems:
            raise ValidationError([p.replace("route.", "", 1) for p in problems])


class TargetInline(admin.TabularInline):
    model = RouteTarget
    formset = TargetFormSet
    extra = 1
    fields = [
        "position",
        "model",
        "query_type",
        "max_score",
        "max_tokens",
        "temperature",
        "fallbacks",
    ]


class DryRunForm(forms.Form):
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}))
    query_type = forms.CharField(required=False)
    max_cost_usd = forms.DecimalField(required=False, min_value=Decimal(0), decimal_places=6)
    max_tokens = forms.IntegerField(required=False, min_value=1)


def dry_run(route: Route, data: dict[str, Any]) -> dict[str, Any]:
    """The plan the live policy code makes for this prompt, without calling any model."""
    snapshot = async_to_sync(catalog.current)()
    prompt = data["prompt"]
    inp = PolicyInput(
        model=f"route/{route.slug}",
        prompt=prompt,
        query_type=(data.get("query_type") or "").lower(),
        max_cost_usd=data.get("max_cost_usd"),
        input_tokens=max(1, len(prompt) // 4),
        output_tokens=data.get("max_tokens"),
    )
    try:
        plan = plan_for(inp, snapshot, latency.snapshot(), score_prompt)
    except GatewayError as err:
        return {"error": err.message}
    attempts = [
        {
            "model": a.model.id,
            "params": a.params,
            "configured": a.model.provider.configured,
            "reason": a.model.provider.reason,
            "estimate": a.model.estimate_cost(inp.input_tokens, inp.output_tokens or 512),
        }
        for a in plan.attempts
    ]
    return {"reason": plan.reason, "attempts": attempts, "extra": plan.extra}


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    inlines = [TargetInline]
    list_display = ["__str__", "strategy", "description", "enabled", "updated_at"]
    list_filter = ["strategy", "enabled"]
    search_fields = ["slug", "description"]
    change_form_template = "admin/routing/route/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<int:pk>/dry-run/",
                self.admin_site.admin_view(self.dry_run_view),
                name="routing_route_dry_run",
            )
        ]
        return custom + super().get_urls()

    def dry_run_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        route = get_object_or_404(Route, pk=pk)
        form = DryRunForm(request.POST or None)
        result = (
            dry_run(route, form.cleaned_data)
            if request.method == "POST" and form.is_valid()
            else None
        )
        context = {
            **self.admin_site.each_context(request),
            "route": route,
            "form": form,
            "result": result,
            "opts": self.model._meta,
            "title": f"Dry run: route/{route.slug}",
        }
        return TemplateResponse(request, "admin/routing/route/dry_run.html", context)
