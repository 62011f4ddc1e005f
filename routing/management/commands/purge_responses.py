"""Delete stored Responses API responses older than SWITCHYARD_RESPONSES_RETENTION_DAYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from routing.doors.responses_store import purge


class Command(BaseCommand):
    help = "Delete stored /v1/responses responses older than the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override the retention.")

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = purge(options["days"])
        self.stdout.write(f"Deleted {deleted} stored responses.")
