from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing and catalog"

    def ready(self) -> None:
        from routing.catalog import signals  # noqa: F401
