"""Any change to catalog, keys or routes bumps the shared config version: live in every worker."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from routing.catalog import invalidate_local, version
from routing.models import Alias, ApiKey, Model, Provider

WATCHED = (Provider, Model, Alias, ApiKey)


@receiver([post_save, post_delete])
def config_changed(sender: type, **kwargs: Any) -> None:
    if sender in WATCHED or getattr(sender, "bumps_config_version", False):
        version.bump()
        invalidate_local()
