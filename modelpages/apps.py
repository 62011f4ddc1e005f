from django.apps import AppConfig


class ModelpagesConfig(AppConfig):
    name = "modelpages"
    verbose_name = "Models"
