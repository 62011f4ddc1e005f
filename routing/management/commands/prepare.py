"""Everything `make run` does before serving, in one process (each `manage.py` start costs
about 2 s of Django start-up on a busy machine): migrate, load the catalog, install the
default routes, make sure a local key exists, collect the static files."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Migrate, sync the catalog, install default routes, ensure a key, collect static."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", default="local", help="The API key to make sure exists.")
        parser.add_argument("--no-key", action="store_true", help="Do not create an API key.")
        parser.add_argument("--no-static", action="store_true", help="Skip collectstatic.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("sync_catalog", stdout=self.stdout)
        call_command("install_default_routes", stdout=self.stdout)
        if not options["no_key"]:
            call_command("ensure_api_key", options["key"], stdout=self.stdout)
        if not options["no_static"]:
            call_command("collectstatic", interactive=False, verbosity=0)
