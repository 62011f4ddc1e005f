"""Import a routing table from JSON: validated first, all or nothing."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.catalog.routetable import import_routes


class Command(BaseCommand):
    help = "Import routes from a JSON file (see export_routes). Any invalid route changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="routes.json, or - for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text()
            payload = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        slugs, problems = import_routes(payload)
        if problems:
            listing = "\n".join(f"  - {p}" for p in problems)
            raise CommandError(f"Nothing imported; {len(problems)} problem(s):\n{listing}")
        self.stdout.write(f"Imported {len(slugs)} route(s): {', '.join(slugs)}")
