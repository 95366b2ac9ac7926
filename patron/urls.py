from django.contrib import admin
from django.urls import include, path

from patron.api import api
from patron.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("v1/", include("patron.events.urls")),
    path("events/", include("patron.events.web_urls")),
    path("imports/", include("patron.imports.urls")),
    path("hygiene/", include("patron.hygiene.urls")),
    path("segments/", include("patron.segments.urls")),
    path("webhooks/", include("patron.webhooks.urls")),
    path("privacy/", include("patron.privacy.urls")),
    path("", include("patron.web.urls")),
]
