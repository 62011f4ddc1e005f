"""Catalog (providers, models, aliases), API keys and the routing table.

The usage record lives in the usage app (`usage.models`).
"""

from __future__ import annotations

import hashlib
import os
import secrets

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from routing.bodies_opt_in import StoresBodies

KEY_PREFIX = "sy-"


class Provider(models.Model):
    """An upstream that serves models over one wire protocol."""

    class Protocol(models.TextChoices):
        OPENAI = "openai", "OpenAI-compatible"
        ANTHROPIC = "anthropic", "Anthropic Messages"

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    protocol = models.CharField(max_length=20, choices=Protocol.choices)
    base_url = models.URLField(
        max_length=300, blank=True, help_text="Empty: the provider's default endpoint."
    )
    api_key = models.CharField(
        max_length=500,
        blank=True,
        help_text="Stored for this provider; the <SLUG>_API_KEY environment variable wins.",
    )
    requires_key = models.BooleanField(default=True)
    serves_responses = models.BooleanField(
        default=False,
        help_text="Serves OpenAI's Responses API (/v1/responses): requests go to it natively.",
    )
    serves_completions = models.BooleanField(
        default=False, help_text="Serves the legacy /v1/completions (text completions)."
    )
    enabled = models.BooleanField(default=True)
    builtin = models.BooleanField(default=False, editable=False)
    region = models.CharField(
        max_length=40, blank=True, help_text="Data-residency tag, e.g. us, eu, cn, local."
    )
    prices_source = models.CharField(
        max_length=60, blank=True, help_text="genai-prices provider id the prices come from."
    )
    rpm = models.PositiveIntegerField(
        null=True, blank=True, help_text="The upstream's request quota per minute (all its models)."
    )
    tpm = models.PositiveIntegerField(
        null=True, blank=True, help_text="The upstream's token quota."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def env_prefix(self) -> str:
        return self.slug.upper().replace("-", "_")

    def effective_api_key(self) -> str:
        return os.environ.get(f"{self.env_prefix}_API_KEY", "") or self.api_key

    def effective_base_url(self, default: str = "") -> str:
        return os.environ.get(f"{self.env_prefix}_BASE_URL", "") or self.base_url or default


class Model(models.Model):
    """One model of one provider, priced from genai-prices."""

    class Kind(models.TextChoices):
        CHAT = "chat", "Chat"
        EMBEDDING = "embedding", "Embeddings"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="models")
    model_id = models.CharField(max_length=200, help_text="The provider's own model id.")
    display_name = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    kind = models.CharField(
        max_length=20, choices=Kind.choices, default=Kind.CHAT, help_text="What the model serves."
    )
    dimensions = models.PositiveIntegerField(
        null=True, blank=True, help_text="Embedding models: the length of their vectors."
    )
    context_window = models.PositiveIntegerField(null=True, blank=True)
    input_price = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True, help_text="USD per 1M input tokens."
    )
    output_price = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    cached_input_price = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_known = models.BooleanField(default=False)
    prices_ref = models.CharField(
        max_length=250, blank=True, help_text="genai-prices provider:model used to price calls."
    )
    region = models.CharField(max_length=40, blank=True, help_text="Overrides the provider's.")
    note = models.CharField(max_length=250, blank=True)
    rpm = models.PositiveIntegerField(null=True, blank=True, help_text="Upstream quota per minute.")
    tpm = models.PositiveIntegerField(null=True, blank=True, help_text="Upstream token quota.")

    class Meta:
        ordering = ["provider__slug", "model_id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "model_id"], name="unique_provider_model")
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def public_id(self) -> str:
        return f"{self.provider.slug}/{self.model_id}"


class Alias(models.Model):
    """A name apps send (hub-style, bare, a team's own) that resolves to a catalog model or
    to a route: map `gpt-4o` to `route/auto` and every such call is routed, app code unchanged."""

    name = models.CharField(max_length=200, unique=True)
    model = models.ForeignKey(
        Model, on_delete=models.CASCADE, related_name="aliases", null=True, blank=True
    )
    target = models.CharField(
        max_length=250,
        blank=True,
        help_text="Instead of a model: any model id or route/<slug>, e.g. route/auto.",
    )

    class Meta:
        verbose_name_plural = "aliases"

    def __str__(self) -> str:
        return self.name

    @property
    def destination(self) -> str:
        """What the name resolves to: the target when set, else the model's id."""
        if self.target:
            return self.target
        return self.model.public_id if self.model is not None else ""

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if bool(self.target) == (self.model_id is not None):
            raise ValidationError("Pick a model or type a target (a model id or route/<slug>).")


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(StoresBodies):
    """A Switchyard API key; only its SHA-256 is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    allowed_regions = models.CharField(
        max_length=200,
        blank=True,
        help_text="Comma-separated regions this key may reach (empty: any).",
    )
    rpm = models.PositiveIntegerField(null=True, blank=True, help_text="Requests per minute.")
    tpm = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens per minute.")
    budget_usd = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, help_text="USD per calendar month."
    )

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name: str, **fields: object) -> tuple[ApiKey, str]:
        key = cls(name=name, **fields)
        raw = key.new_secret()
        key.save()
        return key, raw

    def new_secret(self) -> str:
        """Give this (unsaved) key a fresh secret: sets prefix and hash, returns the raw key."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        self.prefix, self.key_hash = raw[:10], hash_key(raw)
        return raw

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def strategy_choices() -> list[tuple[str, str]]:
    """The strategies of `routing.engine.policies.STRATEGIES` (read when needed, so a new
    strategy needs no migration)."""
    from routing.engine.policies import choices

    return choices()


class Route(StoresBodies):
    """A named route of the routing table: `model="route/<slug>"`."""

    bumps_config_version = True

    slug = models.SlugField(max_length=60, unique=True)
    description = models.CharField(max_length=250, blank=True)
    strategy = models.CharField(max_length=20, choices=strategy_choices)
    enabled = models.BooleanField(default=True)
    max_cost_usd = models.DecimalField(
        max_digits=10,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Budget strategy: default per-request budget in USD.",
    )
    estimator = models.CharField(
        max_length=20,
        default="learned",
        blank=True,
        help_text="Complexity strategy: heuristic | learned.",
    )
    allowed_regions = models.CharField(
        max_length=200,
        blank=True,
        help_text="Comma-separated regions requests may go to (empty: any). Fallbacks included.",
    )
    fallbacks = models.JSONField(
        default=list,
        blank=True,
        help_text='Tried after the chosen model, in order, e.g. ["qwen/qwen3-32b", "openai/gpt-4o"].',
    )
    judge_model = models.CharField(
        max_length=250, blank=True, help_text="Ensemble: a model that picks the best answer."
    )
    cache_ttl_seconds = models.PositiveIntegerField(default=0, help_text="0: no response cache.")
    cache_nondeterministic = models.BooleanField(
        default=False, help_text="Cache answers to requests with temperature > 0 too."
    )
    first_token_timeout_seconds = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1)],
        help_text="Seconds each attempt may wait for its first token before the next target "
        "(empty: derived from the model's measured time to first token).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"route/{self.slug}"


class RouteTarget(models.Model):
    """One row of a route: a rule, a complexity band, a candidate or a chain link."""

    bumps_config_version = True

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="targets")
    position = models.PositiveSmallIntegerField(default=0)
    model = models.CharField(max_length=250, help_text="Catalog model id, e.g. openai/gpt-4o.")
    query_type = models.CharField(
        max_length=40,
        blank=True,
        help_text="Rules: the query type this rule serves (empty: default).",
    )
    max_score = models.FloatField(
        null=True, blank=True, help_text="Complexity: this model serves scores below this bound."
    )
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    fallbacks = models.JSONField(
        default=list, blank=True, help_text="This rule's own fallback chain."
    )

    class Meta:
        ordering = ["route", "position", "id"]

    def __str__(self) -> str:
        return f"{self.route.slug}#{self.position} {self.model}"


class ConfigVersion(models.Model):
    """One row: bumped on every change to catalog, keys or routes, so a server without Redis
    learns of changes another process made (a management command, `manage.py shell`)."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"config version {self.version}"


class StoredResponse(models.Model):
    """A Responses API response kept for `previous_response_id` and GET /v1/responses/{id};
    visible only to the key that made it, purged after SWITCHYARD_RESPONSES_RETENTION_DAYS."""

    public_id = models.CharField(max_length=60, unique=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="responses")
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    input_items = models.JSONField(default=list, help_text="This turn's input items.")
    instructions = models.TextField(blank=True)
    body = models.JSONField(default=dict, help_text="The response object as answered.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.public_id
