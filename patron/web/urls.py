from django.urls import path

from patron.web.views import auth, companies, contacts

app_name = "web"

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    # Contacts
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/new/", contacts.contact_new, name="contact_new"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/notes/", contacts.contact_note_add, name="contact_note_add"),
    path("contacts/<int:pk>/timeline/", contacts.contact_timeline_more, name="contact_timeline"),
    path("contacts/<int:pk>/tags/add/", contacts.contact_tag_add, name="contact_tag_add"),
    path("contacts/<int:pk>/tags/remove/", contacts.contact_tag_remove, name="contact_tag_remove"),
    # Companies
    path("companies/", companies.company_list, name="companies"),
    path("companies/new/", companies.company_new, name="company_new"),
    path("companies/<int:pk>/", companies.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", companies.company_edit, name="company_edit"),
    path("companies/<int:pk>/notes/", companies.company_note_add, name="company_note_add"),
]
