"""Admin for the catalog, keys and usage. Provider secrets are write-only here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from routing.models import Alias, ApiKey, Model, Provider


class ProviderForm(forms.ModelForm):
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave empty to keep the stored key; the environment variable wins.",
    )
    clear_api_key = forms.BooleanField(required=False, help_text="Remove the stored key.")

    class Meta:
        model = Provider
        fields = [
            "name",
            "protocol",
            "base_url",
            "api_key",
            "clear_api_key",
            "requires_key",
            "enabled",
            "region",
            "prices_source",
        ]

    def save(self, commit: bool = True) -> Provider:
        provider = super().save(commit=False)
        if self.cleaned_data.get("clear_api_key"):
            provider.api_key = ""
        elif not self.cleaned_data.get("api_key") and provider.pk:
            provider.api_key = Provider.objects.get(pk=provider.pk).api_key
        if commit:
            provider.save()
        return provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ["name", "slug", "protocol", "status", "region", "enabled"]
    list_filter = ["protocol", "enabled", "region"]
    search_fields = ["name", "slug"]

    def get_fields(
        self, request: HttpRequest, obj: Any = None
    ) -> list[str | list[str] | tuple[str, ...]]:
        fields = list(super().get_fields(request, obj))
        return (["slug"] if obj is None else []) + fields

    @admin.display(description="Status")
    def status(self, obj: Provider) -> str:
        if not obj.enabled:
            return "disabled"
        if obj.requires_key and not obj.effective_api_key():
            return f"not configured ({obj.env_prefix}_API_KEY)"
        return "configured"


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "input_price",
        "output_price",
        "context_window",
        "price_known",
        "enabled",
    ]
    list_filter = ["provider", "price_known", "enabled"]
    search_fields = ["model_id", "display_name"]
    list_select_related = ["provider"]


@admin.register(Alias)
class AliasAdmin(admin.ModelAdmin):
    list_display = ["name", "destination"]
    fields = ["name", "model", "target"]
    search_fields = ["name"]
    autocomplete_fields = ["model"]


CREATE_FIELDS = (
    "name",
    "rpm",
    "tpm",
    "budget_usd",
    "allowed_regions",
    "store_bodies",
    "body_retention_days",
)


class ApiKeyCreateForm(forms.ModelForm):
    """A new key: its name and limits; the secret is generated on save and shown once."""

    class Meta:
        model = ApiKey
        fields = list(CREATE_FIELDS)
        labels = {"budget_usd": "Budget (USD per month)", "allowed_regions": "Regions"}

    def clean_allowed_regions(self) -> str:
        text = self.cleaned_data.get("allowed_regions", "")
        regions = [r.strip().lower() for r in text.split(",") if r.strip()]
        bad = [r for r in regions if not r.replace("-", "").isalnum()]
        if bad:
            raise forms.ValidationError(f"Region tags are letters and digits: {', '.join(bad)}.")
        return ",".join(regions)

    def clean_budget_usd(self) -> Any:
        value = self.cleaned_data.get("budget_usd")
        if value is not None and value <= 0:
            raise forms.ValidationError("A budget is a positive amount of dollars.")
        return value


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "rpm",
        "tpm",
        "budget_usd",
        "allowed_regions",
        "created_at",
        "revoked_at",
    ]
    readonly_fields = ["prefix", "created_at"]
    actions = ["revoke"]

    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return list(CREATE_FIELDS)
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:  # only the hash is stored; the raw key lives in this response only
            raw = obj.new_secret()
            request._issued_api_key = raw  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None) -> Any:
        """Show the key once, on this page (not in a message: those are kept in the session)."""
        raw = getattr(request, "_issued_api_key", "")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "key": obj,
            "raw": raw,
            "title": f"API key “{obj.name}” created",
        }
        response = TemplateResponse(request, "admin/routing/apikey/issued.html", context)
        add_never_cache_headers(response)  # no-store: the page holds the key
        return response

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
        messages.success(request, "Revoked.")


from routing.tools import admin_routes  # noqa: E402,F401  (routes admin lives in its own module)
