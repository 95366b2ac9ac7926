"""Companies: list and search, keyset pagination, profile, forms, refusal."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from patron.contacts.models import Company
from patron.contacts.services import contact_company_link, note_create
from patron.web.tests.conftest import db_state

pytestmark = pytest.mark.django_db

LIST = reverse("web:companies")
NEW = reverse("web:company_new")


def _names(html: str) -> list[str]:
    return re.findall(r'<span class="person-name">([^<]*)</span>', html)


def test_list_and_search_by_name_or_domain(admin, login, make_company):
    make_company(name="Acme Corp", domain="acme.example")
    make_company(name="Globex", domain="globex.example")
    client = login(admin)
    assert _names(client.get(LIST).content.decode()) == ["Acme Corp", "Globex"]
    assert _names(client.get(LIST, {"q": "acm"}).content.decode()) == ["Acme Corp"]
    assert _names(client.get(LIST, {"q": "globex.ex"}).content.decode()) == ["Globex"]
    fragment = client.get(
        LIST, {"q": "glo"}, headers={"HX-Request": "true", "HX-Target": "company-results"}
    ).content.decode()
    assert fragment.lstrip().startswith('<section id="company-results"')


def test_pagination_walks_every_company_once(admin, login, make_company, monkeypatch):
    monkeypatch.setattr("patron.web.views.companies.PAGE_SIZE", 4)
    for i in range(11):
        make_company(name=["Same Name", f"Co {i:02d}"][i % 2])
    client = login(admin)
    seen, url, pages = [], LIST, 0
    while url:
        html = client.get(url).content.decode()
        ids = re.findall(r'href="/companies/(\d+)/"', html)
        seen += ids
        m = re.search(r'rel="next" href="([^"]+)"', html)
        url = m.group(1).replace("&amp;", "&") if m else None
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(str(pk) for pk in Company.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 11


def test_empty_state_and_refusal(user_factory, login):
    assert b"No companies yet" in login(user_factory("admin")).get(LIST).content
    assert login(user_factory("nobody")).get(LIST).status_code == 403


def test_profile_shows_details_people_notes_and_activity(admin, login, make_company, make_contact):
    company = make_company(name="Initech", domain="initech.example", industry="Software")
    person = make_contact(first_name="Peter", last_name="Gibbons")
    contact_company_link(actor=admin, contact=person, company=company, role="Engineer")
    note_create(actor=admin, company=company, body="<b>Renewal</b> in May")
    html = login(admin).get(reverse("web:company_detail", args=[company.pk])).content.decode()
    assert "Initech" in html and "Software" in html and "initech.example" in html
    assert "Peter Gibbons" in html and "Engineer" in html
    assert "&lt;b&gt;Renewal&lt;/b&gt; in May" in html
    assert "Company created" in html
    assert reverse("web:company_edit", args=[company.pk]) in html


def test_company_activity_hides_people_the_user_cannot_see(
    admin, user_factory, login, make_company, make_contact, restrict_own
):
    rep = user_factory("sales")
    company = make_company(actor=rep, name="Shared Co")
    secret = make_contact(first_name="Secret", last_name="Person")
    contact_company_link(actor=admin, contact=secret, company=company, role="CEO")
    restrict_own()
    html = login(rep).get(reverse("web:company_detail", args=[company.pk])).content.decode()
    assert "Shared Co" in html
    assert "Secret Person" not in html and "CEO" not in html


def test_out_of_scope_company_is_404(admin, user_factory, login, make_company, restrict_own):
    rep = user_factory("sales")
    theirs = make_company(name="Not Yours Inc")
    restrict_own()
    before = db_state()
    client = login(rep)
    assert client.get(reverse("web:company_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("web:company_edit", args=[theirs.pk])).status_code == 404
    assert (
        client.post(reverse("web:company_edit", args=[theirs.pk]), {"name": "Mine"}).status_code
        == 404
    )
    assert (
        client.post(reverse("web:company_note_add", args=[theirs.pk]), {"body": "hi"}).status_code
        == 404
    )
    assert db_state() == before
    assert _names(client.get(LIST).content.decode()) == []


def test_create_company(admin, login):
    response = login(admin).post(
        NEW,
        {
            "name": "Hooli",
            "domain": "WWW.Hooli.Example",
            "employees": "250",
            "country": "US",
            "owner": str(admin.pk),
        },
        follow=True,
    )
    company = Company.objects.get()
    assert response.redirect_chain[-1][0] == reverse("web:company_detail", args=[company.pk])
    assert (company.domain, company.employees, company.owner_id) == ("hooli.example", 250, admin.pk)


def test_company_form_errors_render_inline_and_create_nothing(admin, login):
    before = db_state()
    response = login(admin).post(NEW, {"name": "", "phone": "1", "employees": "lots"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "This field is required." in html.split('name="name"')[1].split('<div class="field')[0]
    assert db_state() == before


def test_edit_company(admin, login, make_company):
    company = make_company(name="Old Name")
    client = login(admin)
    assert b'value="Old Name"' in client.get(reverse("web:company_edit", args=[company.pk])).content
    client.post(
        reverse("web:company_edit", args=[company.pk]),
        {"name": "New Name", "owner": str(admin.pk)},
    )
    company.refresh_from_db()
    assert company.name == "New Name"


def test_readonly_cannot_create_edit_or_note(user_factory, login, make_company):
    company = make_company(name="Locked")
    client = login(user_factory("readonly"))
    html = client.get(reverse("web:company_detail", args=[company.pk])).content.decode()
    assert reverse("web:company_edit", args=[company.pk]) not in html
    assert "Add note" not in html
    before = db_state()
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"name": "Nope"}).status_code == 403
    assert (
        client.post(reverse("web:company_edit", args=[company.pk]), {"name": "X"}).status_code
        == 403
    )
    assert (
        client.post(reverse("web:company_note_add", args=[company.pk]), {"body": "x"}).status_code
        == 403
    )
    assert db_state() == before


def test_company_note_is_added(admin, login, make_company):
    company = make_company(name="Noted")
    response = login(admin).post(
        reverse("web:company_note_add", args=[company.pk]), {"body": "Big deal"}, follow=True
    )
    assert b"Note added." in response.content and b"Big deal" in response.content
