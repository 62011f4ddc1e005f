"""Recent playground runs: what was asked, of which models, and what each pane produced."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Sum
from django.utils import timezone


class Run(models.Model):
    """One comparison: the prompt, the panes (model, params, final text, metrics) and its cost."""

    class Status(models.TextChoices):
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    prompt = models.TextField()
    system = models.TextField(blank=True)
    model_ids = models.JSONField(default=list, help_text="Requested model or route ids, in order.")
    panes = models.JSONField(
        default=list, help_text="Per pane: model, params, status, text, error, metrics."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DONE)
    total_cost_usd = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    spend_usd = models.DecimalField(
        max_digits=14,
        decimal_places=8,
        default=Decimal(0),
        help_text="Cost of the non-simulated panes: what counts against the daily cap.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk}: {self.prompt[:40]}"

    @property
    def params(self) -> list[dict[str, Any]]:
        return [pane.get("params", {}) for pane in self.panes]


def spent_today(user_id: int | None) -> Decimal:
    """Real-provider spend of this user's playground runs since midnight UTC."""
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    runs = Run.objects.filter(user_id=user_id, created_at__gte=midnight)  # type: ignore[misc]  # django-stubs#3472: None on a nullable FK's _id means IS NULL
    return runs.aggregate(total=Sum("spend_usd"))["total"] or Decimal(0)


def recent(user_id: int | None, limit: int = 15, everyone: bool = False) -> list[Run]:
    """This user's runs of the last 30 days (everyone's for staff, with who ran them)."""
    since = timezone.now() - dt.timedelta(days=30)
    runs = Run.objects.filter(created_at__gte=since).select_related("user")
    if not everyone:
        runs = runs.filter(user_id=user_id)  # type: ignore[misc]  # django-stubs#3472: None on a nullable FK's _id means IS NULL
    fields = ("id", "created_at", "prompt", "model_ids", "total_cost_usd", "status")
    return list(runs.only(*fields, "user__username")[:limit])
