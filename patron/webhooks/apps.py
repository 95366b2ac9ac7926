from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "patron.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
