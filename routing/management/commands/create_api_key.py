"""Issue a Switchyard API key; the raw key is printed once, as the last line."""

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key. Only its hash is stored: copy the printed key now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A label for the key, e.g. the app that uses it.")
        parser.add_argument("--rpm", type=int, help="Requests per minute.")
        parser.add_argument("--tpm", type=int, help="Tokens per minute.")
        parser.add_argument("--budget-usd", type=Decimal, help="USD per calendar month.")
        parser.add_argument("--regions", default="", help="Comma-separated allowed regions.")
        parser.add_argument(
            "--store-bodies",
            type=int,
            metavar="DAYS",
            help="Keep this key's prompts and answers for DAYS (1-365; staff read them).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["store_bodies"]
        if days is not None and not 1 <= days <= 365:
            raise CommandError("--store-bodies takes a number of days from 1 to 365.")
        keep = {"store_bodies": True, "body_retention_days": days} if days else {}
        key, raw = ApiKey.issue(
            options["name"],
            rpm=options["rpm"],
            tpm=options["tpm"],
            budget_usd=options["budget_usd"],
            allowed_regions=options["regions"],
            **keep,
        )
        limits = ", ".join(
            f"{name} {options[name]}"
            for name in ("rpm", "tpm", "budget_usd", "store_bodies")
            if options[name]
        )
        self.stdout.write(
            f"Created API key '{key.name}' (id {key.id}{'; ' + limits if limits else ''}). "
            "It is shown only once:"
        )
        self.stdout.write(raw)
