"""Make sure a local key exists (used by `make run`); prints the raw key only on creation."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from routing.models import ApiKey


class Command(BaseCommand):
    help = "Create the named API key unless an active one exists; print it only when created."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", default="local")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        existing = ApiKey.objects.filter(name=name, revoked_at__isnull=True).first()
        if existing is not None:
            self.stdout.write(
                f"API key '{name}' exists ({existing.prefix}…) and is shown only when created. "
                "For a new key: .venv/bin/python manage.py create_api_key my-app "
                "(revoke the old one in the admin, API keys, if it was lost)"
            )
            return
        _, raw = ApiKey.issue(name)
        self.stdout.write(f"Created API key '{name}'. Shown only once, keep it:")
        self.stdout.write(raw)
