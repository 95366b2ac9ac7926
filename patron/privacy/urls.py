"""Privacy pages under /privacy/ (views in patron.web.views.privacy, ADR 0079).

Their own namespace, like the other apps' pages (hygiene, imports, segments): the refusal
tests of these pages are in patron/privacy/tests/test_web.py.
"""

from django.urls import path

from patron.web.views import privacy

app_name = "privacy"

urlpatterns = [
    path("contacts/<int:pk>/erase/", privacy.contact_erase_page, name="erase"),
    path("contacts/<int:pk>/export/", privacy.contact_export_download, name="export"),
    path("erasures/", privacy.erasure_list, name="erasures"),
    path("erasures/<int:pk>/", privacy.erasure_detail, name="erasure"),
]
