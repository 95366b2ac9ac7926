from django.urls import path

from patron.segments import views

app_name = "segments"

urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_edit, name="new"),
    path("preview/", views.segment_preview_fragment, name="preview"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/edit/", views.segment_edit, name="edit"),
    path("<int:pk>/export.csv", views.segment_export, name="export"),
    path("<int:pk>/delete/", views.segment_delete_view, name="delete"),
    path("<int:pk>/rebuild/", views.segment_rebuild_view, name="rebuild"),
]
