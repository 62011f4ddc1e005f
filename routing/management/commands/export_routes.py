"""Print the routing table as JSON (routes as code)."""

import json
from typing import Any

from django.core.management.base import BaseCommand

from routing.catalog.routetable import export_routes


class Command(BaseCommand):
    help = "Export the routing table as JSON: python manage.py export_routes > routes.json"

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(export_routes(), indent=2))
