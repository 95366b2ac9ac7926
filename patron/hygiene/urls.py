from django.urls import path

from patron.hygiene import views

app_name = "hygiene"

urlpatterns = [
    path("quality/", views.quality, name="quality"),
    path("quality/fix/renormalize/", views.fix_renormalize, name="fix_renormalize"),
    path("quality/fix/tag-stale/", views.fix_tag_stale, name="fix_tag_stale"),
    path("quality/settings/", views.settings_update, name="settings"),
    path("duplicates/", views.queue, name="queue"),
    path("duplicates/scan/", views.scan_now, name="scan"),
    path("duplicates/<int:pk>/dismiss/", views.dismiss, name="dismiss"),
    path(
        "merge/<int:survivor_id>/<int:merged_id>/",
        views.merge_screen,
        name="merge",
    ),
    path("merges/", views.journal, name="journal"),
    path("merges/<int:pk>/undo/", views.undo, name="undo"),
]
