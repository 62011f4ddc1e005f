"""The usage record: one row per request. The usage app owns its shape; the gateway fills it
(`routing.engine.context.usage_row`), and every reader goes through `usage.records`.

The table keeps its first name, `routing_usagerecord` (the model moved here from `routing`
with a state-only migration, so no data moved).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

USD: dict[str, Any] = {"max_digits": 14, "decimal_places": 8, "null": True, "blank": True}


class UsageRecord(models.Model):
    """One row per request: who asked, which model answered, what it cost."""

    class Source(models.TextChoices):
        API = "api", "API"
        PLAYGROUND = "playground", "Playground"
        BATCH = "batch", "Batch"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    request_id = models.CharField(max_length=40, db_index=True)
    api_key = models.ForeignKey("routing.ApiKey", null=True, blank=True, on_delete=models.SET_NULL)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="Playground runs: who ran them (they use no API key).",
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.API)
    protocol = models.CharField(
        max_length=20, default="chat", help_text="The front door it came through, e.g. chat."
    )
    requested_model = models.CharField(max_length=250)
    route = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=250, blank=True, help_text="The model that answered.")
    provider = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=20)  # ok | error | cancelled
    http_status = models.PositiveSmallIntegerField(default=200)
    error_type = models.CharField(max_length=60, blank=True)
    stream = models.BooleanField(default=False)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    tokens_estimated = models.BooleanField(default=False)
    cost_usd = models.DecimalField(**USD)
    price_known = models.BooleanField(default=True)
    latency_ms = models.FloatField(null=True, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)
    attempts = models.JSONField(default=list, blank=True)
    decision = models.CharField(max_length=300, blank=True)
    query_type = models.CharField(max_length=40, blank=True)
    cache_hit = models.BooleanField(default=False)
    complexity_score = models.FloatField(
        null=True, blank=True, help_text="Complexity routes: the prompt's score (for calibration)."
    )
    saved_usd = models.DecimalField(**USD, help_text="Cache hits: what it would have cost.")

    class Meta:
        db_table = "routing_usagerecord"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["api_key", "created_at"], name="routing_usa_api_key_8ac841_idx")
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.model or self.requested_model} {self.status}"


BODY_CAP = 256 * 1024  # bytes kept of a request's body and of its answer, each


class RequestBody(models.Model):
    """A request's body as its door received it and the answer as the gateway assembled it,
    kept only when the request's key or route opts in (`store_bodies`), until `expires_at`.
    Keyed by the request id (a record's `request_id`); staff read it on the request's page."""

    request_id = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    request = models.TextField(blank=True, help_text="As received (UTF-8), up to 256 KB.")
    answer = models.TextField(blank=True, help_text="As assembled by the gateway, up to 256 KB.")
    request_bytes = models.PositiveIntegerField(default=0, help_text="The whole body's size.")
    answer_bytes = models.PositiveIntegerField(default=0, help_text="The whole answer's size.")
    truncated = models.BooleanField(default=False, help_text="Either was cut at 256 KB.")

    def __str__(self) -> str:
        return f"body of {self.request_id}"
