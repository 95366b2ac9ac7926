from django.apps import AppConfig


class RatelimitConfig(AppConfig):
    name = "patron.ratelimit"
    label = "ratelimit"
    verbose_name = "Rate limits"
