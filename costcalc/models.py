"""Uploaded prompt sets, kept as complexity scores so a permalink can name them."""

from __future__ import annotations

from django.db import models


class PromptSet(models.Model):
    """The scores of an uploaded prompt file (never the prompt text), keyed by its hash."""

    key = models.CharField(max_length=16, primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=200, blank=True)
    count = models.PositiveIntegerField(default=0)
    scores = models.JSONField(default=list)  # [[query_type, {estimator: score}], ...]

    def __str__(self) -> str:
        return f"{self.filename or self.key} ({self.count} prompts)"

    @property
    def label(self) -> str:
        return f"{self.count} uploaded prompts ({self.filename or self.key})"
