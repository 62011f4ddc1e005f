"""Recent playground runs: what was asked, of which models, and what each pane produced.

A follow-up turn is a Run whose `parent` is the turn before: each pane's conversation is the
chain of turns. Long prompts live in `PromptText`, so a permalink names them by a short id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="followups",
        help_text="The turn this one follows up (each pane continues its conversation).",
    )
    winner = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Best pane index.")
    ratings = models.JSONField(default=dict, blank=True, help_text='{"<pane>": "up" | "down"}')

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk}: {self.prompt[:40]}"

    @property
    def params(self) -> list[dict[str, Any]]:
        return [pane.get("params", {}) for pane in self.panes]

    def chain(self, limit: int = 50) -> list[Run]:
        """The conversation up to this turn, oldest first."""
        turns: list[Run] = [self]
        while turns[-1].parent_id is not None and len(turns) < limit:
            parent = Run.objects.filter(pk=turns[-1].parent_id).first()
            if parent is None:
                break
            turns.append(parent)
        return turns[::-1]


class PromptText(models.Model):
    """A long prompt kept server-side: permalinks carry `prompt_id=<digest>` instead."""

    digest = models.CharField(max_length=16, unique=True)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Prompt {self.digest}"

    @classmethod
    def keep(cls, text: str) -> str:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        cls.objects.get_or_create(digest=digest, defaults={"text": text})
        return digest

    @classmethod
    def lookup(cls, digest: str) -> str | None:
        row = cls.objects.filter(digest=digest).only("text").first()
        return row.text if row else None


def spent_today(user_id: int | None) -> Decimal:
    """Real-provider spend of this user's playground runs since midnight UTC."""
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    runs = Run.objects.filter(user_id=user_id, created_at__gte=midnight)  # type: ignore[misc]  # django-stubs#3472: None on a nullable FK's _id means IS NULL
    return runs.aggregate(total=Sum("spend_usd"))["total"] or Decimal(0)


def recent(
    user_id: int | None, query: str = "", limit: int = 15, everyone: bool = False
) -> list[Run]:
    """This user's runs of the last 30 days (everyone's for staff, with who ran them), newest
    first; `query` matches prompt or model."""
    since = timezone.now() - dt.timedelta(days=30)
    runs = Run.objects.filter(created_at__gte=since).select_related("user")
    if not everyone:
        runs = runs.filter(user_id=user_id)  # type: ignore[misc]  # django-stubs#3472: None on a nullable FK's _id means IS NULL
    for word in query.split()[:5]:
        runs = runs.filter(models.Q(prompt__icontains=word) | models.Q(model_ids__icontains=word))
    fields = ("id", "created_at", "prompt", "model_ids", "total_cost_usd", "status", "parent")
    return list(runs.only(*fields, "user__username")[:limit])


def usage_counts(user_id: int | None, days: int = 30) -> dict[str, int]:
    """How often this user ran each model or route lately (the picker puts them first)."""
    since = timezone.now() - dt.timedelta(days=days)
    runs = Run.objects.filter(user_id=user_id, created_at__gte=since)  # type: ignore[misc]  # django-stubs#3472: None on a nullable FK's _id means IS NULL
    counts: dict[str, int] = {}
    for model_ids in runs.values_list("model_ids", flat=True)[:500]:
        for name in model_ids or ():
            counts[name] = counts.get(name, 0) + 1
    return counts
