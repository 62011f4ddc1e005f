"""`manage.py prune_bodies`: delete stored request bodies whose retention has ended.

The gateway's writer does this every few minutes while it writes bodies; this is for a cron
line, or after turning storage off.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from usage import bodies


class Command(BaseCommand):
    help = "Delete stored request bodies whose retention has ended."

    def handle(self, *args: Any, **options: Any) -> None:
        count = bodies.prune()
        self.stdout.write(f"Deleted {count} expired request bod{'y' if count == 1 else 'ies'}.")
