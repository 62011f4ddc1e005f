"""Seed or refresh providers, models, prices and aliases from genai-prices."""

from typing import Any

from django.core.management.base import BaseCommand

from routing.catalog import version
from routing.catalog.pricing import prices_label
from routing.catalog.sync import sync_catalog


class Command(BaseCommand):
    help = "Sync the model catalog (providers, models, prices, aliases) from genai-prices."

    def handle(self, *args: Any, **options: Any) -> None:
        report = sync_catalog()
        version.bump()
        self.stdout.write(
            f"Catalog synced from {prices_label()}: {report.providers} providers, "
            f"{report.models} models ({report.priced} priced, {report.unpriced} without a price), "
            f"{report.aliases} aliases."
        )
