"""Create the default routes a fresh install ships (never overwrites an existing route)."""

from typing import Any

from django.core.management.base import BaseCommand

from routing.catalog.routetable import install_default_routes


class Command(BaseCommand):
    help = "Install the default routes (by-type, auto, fallback, budget, fastest, demo) if missing."

    def handle(self, *args: Any, **options: Any) -> None:
        created = install_default_routes()
        self.stdout.write(
            f"Default routes created: {', '.join(created)}"
            if created
            else "Default routes already present."
        )
