"""The routing table in the admin: routes with inline targets, validation, and a dry run."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from modelpages.widgets import FallbackField, ModelPicker
from routing import catalog
from routing.catalog.pricing import estimate_tokens
from routing.catalog.routetable import TARGET_FIELDS, CatalogIndex, route_problems
from routing.complexity import part_label
from routing.engine.live import plan_live, score_prompt
from routing.engine.plan import DEFAULT_OUTPUT_ESTIMATE as DEFAULT_OUTPUT
from routing.engine.policies import PolicyInput, decision_part
from routing.errors import GatewayError
from routing.models import Route, RouteTarget
from routing.tools.calibration import FEW_SCORES
from routing.tools.prompt_files import MAX_UPLOAD_BYTES, UploadError, parse_upload

ROUTE_FIELDS = ("fallbacks", "judge_model", "max_cost_usd", "slug", "strategy")
PROBLEM = re.compile(r"^(?:targets\[(?P<row>\d+)\]\.)?(?P<field>\w+): (?P<message>.*)$", re.S)


def _number(step: str) -> forms.NumberInput:
    return forms.NumberInput(attrs={"step": step, "class": "route-num"})


class TargetForm(forms.ModelForm):
    """A row of the route editor: the model picker, narrow numbers, fallbacks as pickers."""

    fallbacks = FallbackField(required=False, help_text="Tried in order after this row's model.")

    class Meta:
        model = RouteTarget
        fields = ["position", *TARGET_FIELDS]
        widgets = {
            "model": ModelPicker(),
            "position": _number("1"),
            "max_score": _number("any"),
            "max_tokens": _number("1"),
            "temperature": _number("any"),
            "query_type": forms.TextInput(attrs={"size": 10}),
        }


class RouteForm(forms.ModelForm):
    """The route itself; keeps itself on the instance so the targets' check can mark its fields."""

    fallbacks = FallbackField(
        required=False, help_text="Tried in order after the chosen model, whatever the rule."
    )

    class Meta:
        model = Route
        exclude: list[str] = []
        widgets = {"judge_model": ModelPicker()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance._route_form = self  # type: ignore[attr-defined]


def place_problems(problems: list[str], rows: list[Any], route_form: Any) -> list[str]:
    """Put each "targets[1].model: ..." on its cell and each route problem on its field;
    returns the problems that belong to no field (e.g. "targets: at least one target")."""
    rest = []
    for problem in problems:
        match = PROBLEM.match(problem.replace("route.", "", 1))
        if match is None:
            rest.append(problem)
            continue
        row, field, message = match["row"], match["field"], match["message"]
        if row is not None and int(row) < len(rows) and field in rows[int(row)].fields:
            rows[int(row)].add_error(field, message)
        elif (
            row is None
            and route_form is not None
            and field in ROUTE_FIELDS
            and field in route_form.fields
        ):
            route_form.add_error(field, message)
        else:
            rest.append(f"{field}: {message}")
    return rest


class TargetFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        forms_in_order = sorted(
            (f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")),
            key=lambda f: f.cleaned_data.get("position") or 0,
        )
        route = self.instance
        data = {
            "slug": route.slug,
            "strategy": route.strategy,
            "fallbacks": route.fallbacks,
            "judge_model": route.judge_model,
            "max_cost_usd": route.max_cost_usd,
            "targets": [{k: f.cleaned_data.get(k) for k in TARGET_FIELDS} for f in forms_in_order],
        }
        problems = route_problems(data, CatalogIndex.load())
        if not problems:
            return
        rest = place_problems(problems, forms_in_order, getattr(route, "_route_form", None))
        count = len(problems)
        summary = f"{count} problem{'s' if count != 1 else ''}: see the marked fields."
        raise ValidationError(rest or [summary])


class TargetInline(admin.TabularInline):
    model = RouteTarget
    form = TargetForm
    formset = TargetFormSet
    extra = 1
    fields = ["position", *TARGET_FIELDS]


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
        input_tokens=estimate_tokens(len(prompt)),
        output_tokens=data.get("max_tokens"),
    )
    try:
        plan = plan_live(inp, snapshot)
    except GatewayError as err:
        return {"error": err.message}
    attempts = [
        {
            "model": a.model.id,
            "params": a.params,
            "configured": a.model.provider.configured,
            "reason": a.model.provider.reason,
            "estimate": a.model.estimate_cost(
                inp.input_tokens, inp.output_tokens or DEFAULT_OUTPUT
            ),
        }
        for a in plan.attempts
    ]
    bands = score_bands(route, plan.extra["band"]) if "band" in plan.extra else []
    part = part_label(plan.extra["part"]) if "part" in plan.extra else ""
    return {
        "reason": plan.reason,
        "attempts": attempts,
        "extra": plan.extra,
        "bands": bands,
        "part": part,
    }


def score_bands(route: Route, chosen: int) -> list[dict[str, Any]]:
    """A complexity route's bands, from the cheapest, marking the one the policy chose."""
    bands, low = [], 0.0
    for i, target in enumerate(route.targets.order_by("position", "id")):
        bands.append({"model": target.model, "low": low, "high": target.max_score})
        bands[-1]["chosen"] = i == chosen
        low = target.max_score if target.max_score is not None else low
    return bands


class CalibrateForm(forms.Form):
    DEFAULT_DAYS = 7

    shares = forms.CharField(
        help_text="Percent of traffic per target, cheapest first, e.g. 40,30,20,10 (must add to 100)."
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=365,
        initial=DEFAULT_DAYS,
        help_text="Use the scores of this route's requests over these days…",
    )
    sample = forms.FileField(
        required=False,
        help_text="…or score an uploaded sample instead: CSV with a 'prompt' column, or JSONL.",
    )

    def __init__(self, *args: Any, targets: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = targets

    def clean_shares(self) -> list[float]:
        try:
            values = [float(v) for v in self.cleaned_data["shares"].split(",")]
        except ValueError:
            raise ValidationError("Numbers separated by commas, e.g. 40,30,20,10.") from None
        if len(values) != self.targets:
            raise ValidationError(f"Give one share per target ({self.targets}).")
        if any(v < 0 for v in values) or abs(sum(values) - 100) > 0.01:
            raise ValidationError("Shares must be non-negative and add up to 100.")
        return [v / 100 for v in values]


def calibration_scores(route: Route, days: int, sample: Any) -> tuple[list[float], list[str]]:
    """Scores of recent requests through the route, or of an uploaded sample of prompts, and
    the estimator part that scored each (for traffic: as its recorded decision names it)."""
    from datetime import timedelta

    from django.utils import timezone

    from usage.records import complexity_decisions

    if sample:
        if sample.size > MAX_UPLOAD_BYTES:
            raise ValidationError(f"The sample is over the {MAX_UPLOAD_BYTES // 2**20} MB limit.")
        try:
            rows = parse_upload(sample.name, sample.read())
        except UploadError as exc:
            raise ValidationError(f"The sample: {exc}") from None
        scored = [score_prompt(route.estimator, prompt) for _, prompt in rows]
        return [s.value for s in scored], [s.part for s in scored]
    since = timezone.now() - timedelta(days=days)
    recorded = complexity_decisions(route.slug, since)
    return [score for score, _ in recorded], [decision_part(d) for _, d in recorded]


def part_rows(scores: list[float], parts: list[str], bounds: list[float]) -> list[dict[str, Any]]:
    """Per estimator part: how many of these prompts it scored, their score range, and how
    many fall in each band under ``bounds`` (cheapest first)."""
    from routing.tools.calibration import achieved_shares

    rows = []
    for part in sorted(set(parts), key=lambda p: (-parts.count(p), p)):
        mine = [s for s, p in zip(scores, parts) if p == part]
        per_band = achieved_shares(mine, bounds)
        rows.append(
            {
                "part": part_label(part),
                "count": len(mine),
                "share": 100 * len(mine) / len(scores),
                "low": min(mine),
                "high": max(mine),
                "bands": " / ".join(str(round(b * len(mine))) for b in per_band),
            }
        )
    return rows


def calibration_rows(
    targets: list[RouteTarget], scores: list[float], proposed: list[float] | None
) -> list[dict[str, Any]]:
    """Per target: its bound and share of these scores now, and with the proposed bounds."""
    from routing.tools.calibration import achieved_shares

    current = [t.max_score for t in targets[:-1]]
    now = achieved_shares(scores, cast("list[float]", current)) if None not in current else None
    new = achieved_shares(scores, proposed) if proposed is not None else None
    return [
        {
            "model": t.model,
            "now_bound": t.max_score if i < len(targets) - 1 else None,
            "now_share": now[i] * 100 if now else None,
            "bound": proposed[i] if proposed is not None and i < len(proposed) else None,
            "share": new[i] * 100 if new else None,
        }
        for i, t in enumerate(targets)
    ]


def sample_size(count: int) -> dict[str, Any]:
    """What the calibrate page says about how many scores it used."""
    from routing.tools.calibration import share_margin

    worst = share_margin(0.5, count) * 100
    return {"few": count < FEW_SCORES, "few_limit": FEW_SCORES, "worst_margin": worst}


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    form = RouteForm
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
            ),
            path(
                "<int:pk>/calibrate/",
                self.admin_site.admin_view(self.calibrate_view),
                name="routing_route_calibrate",
            ),
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

    def calibrate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        route = get_object_or_404(Route, pk=pk, strategy="complexity")
        targets = list(route.targets.order_by("position", "id"))
        form = CalibrateForm(request.POST or None, request.FILES or None, targets=len(targets))
        result = None
        if request.method == "POST" and form.is_valid():
            try:
                result = self._calibrate(route, targets, form.cleaned_data, "apply" in request.POST)
            except ValidationError as exc:
                form.add_error(None, exc)
            except ValueError as exc:
                form.add_error(None, str(exc))
        if result is None:  # what the route does with recent traffic, before any change
            scores, parts = calibration_scores(route, CalibrateForm.DEFAULT_DAYS, None)
            rows = calibration_rows(targets, scores, None)
            source = f"the last {CalibrateForm.DEFAULT_DAYS} days"
            result = {"count": len(scores), "rows": rows, "stage": "now", "source": source,
                      **sample_size(len(scores))}  # fmt: skip
            current = [t.max_score for t in targets[:-1]]
            if scores and None not in current:
                result["parts"] = part_rows(scores, parts, cast("list[float]", current))
        context = {
            **self.admin_site.each_context(request),
            "route": route,
            "form": form,
            "result": result,
            "days": CalibrateForm.DEFAULT_DAYS,
            "opts": self.model._meta,
            "title": f"Calibrate: route/{route.slug}",
        }
        return TemplateResponse(request, "admin/routing/route/calibrate.html", context)

    def _calibrate(
        self, route: Route, targets: list[RouteTarget], data: dict[str, Any], apply: bool
    ) -> dict[str, Any]:
        from routing.tools.calibration import share_margin, thresholds, uncertainty

        sample = data.get("sample")
        scores, parts = calibration_scores(route, data["days"], sample)
        if not scores:
            raise ValidationError(
                "No scores yet: send traffic through the route or upload a sample."
            )
        bounds = thresholds(scores, data["shares"])
        rows = calibration_rows(targets, scores, bounds)
        for row, spread in zip(rows, uncertainty(scores, data["shares"])):
            row.update(bound_low=spread["low"], bound_high=spread["high"])
        for row, share in zip(rows, data["shares"]):
            row["margin"] = share_margin(share, len(scores)) * 100
        if apply:
            for target, bound in zip(targets, [*bounds, None]):
                target.max_score = bound
                target.save(update_fields=["max_score"])
        source = f"the sample {sample.name}" if sample else f"the last {data['days']} days"
        stage = "applied" if apply else "preview"
        return {
            "count": len(scores),
            "rows": rows,
            "stage": stage,
            "source": source,
            "parts": part_rows(scores, parts, bounds),
            **sample_size(len(scores)),
        }
