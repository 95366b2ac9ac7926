from django.urls import path

from patron.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.job_upload, name="upload"),
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/mapping/", views.job_mapping, name="mapping"),
    path("<int:pk>/custom-fields/", views.job_custom_fields, name="custom_fields"),
    path("<int:pk>/preview/", views.job_preview, name="preview"),
    path("<int:pk>/run/", views.job_run, name="run"),
    path("<int:pk>/resume/", views.job_resume, name="resume"),
    path("<int:pk>/progress/", views.job_progress, name="progress"),
    path("<int:pk>/rollback/", views.job_rollback, name="rollback"),
    path("<int:pk>/report.csv", views.job_report, name="report"),
    path("export/", views.export_contacts, name="export"),
]
