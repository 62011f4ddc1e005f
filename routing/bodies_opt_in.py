"""The opt-in to storing request bodies, shared by API keys and routes (`routing.models`)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class StoresBodies(models.Model):
    """Opt-in storage of prompt and answer bodies (off by default; staff read them on the
    request's page in the usage log; `manage.py prune_bodies` and the writer drop them when
    their retention ends). A request whose key and route both opt in keeps the shorter
    retention."""

    store_bodies = models.BooleanField(
        default=False,
        help_text="Keep each request's body and its answer (staff only; off by default).",
    )
    body_retention_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Days a stored body is kept (1-365).",
    )

    class Meta:
        abstract = True
