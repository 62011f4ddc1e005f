"""Settings the request path reads, remembered per process: on Django 5.2 each
`settings.NAME` goes through `LazyObject.__getattribute__` (about a microsecond), and a request
read a dozen of them. `knobs.NAME` is the setting's value, read once and forgotten when the
setting changes (`override_settings`, pytest-django's `settings` fixture), so tests and the
admin see the same values as before.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


class Knobs:
    def __getattr__(self, name: str) -> Any:  # only on the first read of each name
        value = getattr(settings, name)
        self.__dict__[name] = value
        return value


knobs = Knobs()


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: object) -> None:
    knobs.__dict__.pop(setting, None)
