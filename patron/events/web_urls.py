"""Web pages of the events app (Sources, debugger, the profile's behaviour card), mounted
at /events/ by patron.urls. The tracking API itself is ``patron.events.urls`` (/v1/)."""

from django.urls import path

from patron.events import views

app_name = "events"

urlpatterns = [
    path("sources/", views.sources, name="sources"),
    path("sources/new/", views.source_new, name="source_new"),
    path("sources/<int:pk>/", views.source_detail, name="source"),
    path("sources/<int:pk>/debugger/", views.source_debugger, name="source_debugger"),
    path("sources/<int:pk>/rotate/", views.source_rotate, name="source_rotate"),
    path("sources/<int:pk>/active/", views.source_active, name="source_active"),
    path(
        "contacts/<int:contact_id>/behaviour/",
        views.contact_behaviour_card,
        name="contact_behaviour",
    ),
]
