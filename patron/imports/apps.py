from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "patron.imports"
    label = "imports"
    verbose_name = "Imports and exports"
