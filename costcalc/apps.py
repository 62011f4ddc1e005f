from django.apps import AppConfig


class CostcalcConfig(AppConfig):
    name = "costcalc"
