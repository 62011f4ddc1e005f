"""Issue a Switchyard API key; the raw key is printed once, as the last line."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from routing.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key. Only its hash is stored: copy the printed key now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A label for the key, e.g. the app that uses it.")

    def handle(self, *args: Any, **options: Any) -> None:
        key, raw = ApiKey.issue(options["name"])
        self.stdout.write(f"Created API key '{key.name}' (id {key.id}). It is shown only once:")
        self.stdout.write(raw)
