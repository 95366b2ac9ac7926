from django.apps import AppConfig


class HygieneConfig(AppConfig):
    name = "patron.hygiene"
    label = "hygiene"
    verbose_name = "Data hygiene"
