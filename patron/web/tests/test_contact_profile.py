"""Contact profile (360° view), timeline, notes and tags: rendering, masking, refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from patron.commerce.models import Order
from patron.contacts.models import Contact, CustomField, Note
from patron.contacts.services import contact_company_link, note_create
from patron.events.models import Event
from patron.privacy.models import Consent
from patron.support.models import SurveyResponse, Ticket
from patron.web.tests.conftest import db_state

pytestmark = pytest.mark.django_db


def detail(contact: Contact) -> str:
    return reverse("web:contact_detail", args=[contact.pk])


@pytest.fixture
def full_contact(admin, make_contact, make_company):
    """A contact with something in every section of the profile."""
    CustomField.objects.create(entity="contact", key="shoe_size", label="Shoe size", type="number")
    CustomField.objects.create(
        entity="contact", key="salary", label="Salary", type="text", sensitive=True
    )
    contact = make_contact(
        first_name="Marie",
        last_name="Curie",
        job_title="Physicist",
        email="marie@sorbonne.example",
        emails=["marie@home.example"],
        phone="+33 1 42 34 56 78",
        birthday="1967-11-07",
        city="Paris",
        country="FR",
        language="fr",
        time_zone="Europe/Paris",
        lifecycle_stage="customer",
        tags=["nobel"],
        custom={"shoe_size": "38", "salary": "secret-number"},
    )
    company = make_company(name="Radium Institute", domain="radium.example")
    contact_company_link(actor=admin, contact=contact, company=company, role="Director")
    now = timezone.now()
    Order.objects.create(
        contact=contact, external_id="ORD-1", total=Decimal("99.50"), placed_at=now, currency="EUR"
    )
    Ticket.objects.create(contact=contact, subject="Lab door stuck", opened_at=now)
    SurveyResponse.objects.create(
        contact=contact, kind="nps", score=9, comment="Great lab", responded_at=now
    )
    Event.objects.create(
        contact=contact, type="track", event="Signed Up", timestamp=now, received_at=now
    )
    for status, at in (("granted", now - dt.timedelta(days=2)), ("withdrawn", now)):
        Consent.objects.create(
            contact=contact,
            purpose="email_marketing",
            channel="email",
            status=status,
            lawful_basis="consent",
            source="web form",
            recorded_at=at,
        )
    note_create(actor=admin, contact=contact, body="Met at the conference.")
    return contact


def test_profile_shows_the_360_view(admin, login, full_contact):
    response = login(admin).get(detail(full_contact))
    html = response.content.decode()
    assert response.status_code == 200
    # header
    assert "Marie Curie" in html and "Physicist" in html and "Radium Institute" in html
    assert "Customer" in html and "nobel" in html
    # details incl. further email, formatted phone and birthday
    assert "marie@home.example" in html and "+33 1 42 34 56 78" in html
    assert "7 November 1967" in html and "Europe/Paris" in html and "France" in html
    # custom fields, companies with role
    assert "Shoe size" in html and ">38<" in html.replace("\n", "").replace(" ", "")
    assert "secret-number" in html and "Director" in html
    # consent shows the latest status only
    assert "Email marketing" in html and "Withdrawn" in html and ">Granted<" not in html
    # one timeline merging every kind
    for text in ("Order ORD-1", "Ticket: Lab door stuck", "NPS score 9", "Signed Up"):
        assert text in html
    assert "Met at the conference." in html
    # the note's own activity entry is not repeated next to the note
    assert "Note added" not in html
    # write controls for someone who may write
    assert reverse("web:contact_edit", args=[full_contact.pk]) in html
    assert 'id="note-form"' in html and 'id="tag-input"' in html


def test_sensitive_fields_are_masked_for_roles_without_access(user_factory, login, full_contact):
    marketing = user_factory("marketing")
    html = login(marketing).get(detail(full_contact)).content.decode()
    assert "•••" in html
    for secret in ("42 34 56 78", "1967", "secret-number"):
        assert secret not in html
    # not sensitive: still shown
    assert "marie@sorbonne.example" in html and "Shoe size" in html


def test_readonly_sees_no_write_controls_and_no_timeline_kinds_it_lacks(
    user_factory, login, full_contact
):
    readonly = user_factory("readonly")
    html = login(readonly).get(detail(full_contact)).content.decode()
    assert reverse("web:contact_edit", args=[full_contact.pk]) not in html
    assert 'id="note-form"' not in html and 'id="tag-input"' not in html
    assert "Remove tag" not in html
    # readonly has no order/ticket/consent permission: those stay hidden
    assert "Order ORD-1" not in html and "Lab door stuck" not in html
    assert "Email marketing" not in html


def test_out_of_scope_contact_is_404(admin, user_factory, login, make_contact, restrict_own):
    rep = user_factory("sales")
    theirs = make_contact(first_name="Not", last_name="Yours")
    restrict_own()
    client = login(rep)
    assert client.get(detail(theirs)).status_code == 404
    assert client.get(reverse("web:contact_timeline", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("web:contact_detail", args=[999999])).status_code == 404


def test_user_without_permission_gets_403(user_factory, login, make_contact):
    contact = make_contact(first_name="Some", last_name="One")
    response = login(user_factory("nobody")).get(detail(contact))
    assert response.status_code == 403
    assert b"Some One" not in response.content


def test_add_note_with_htmx_prepends_it_and_resets_the_form(admin, login, make_contact):
    contact = make_contact(first_name="Note", last_name="Taker")
    response = login(admin).post(
        reverse("web:contact_note_add", args=[contact.pk]),
        {"body": "Called, wants a demo."},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<li class="tl-item tl-note">')
    assert "Called, wants a demo." in html
    assert 'hx-swap-oob="true"' in html  # a fresh, empty note form
    assert list(contact.notes.values_list("body", flat=True)) == ["Called, wants a demo."]


def test_add_note_without_htmx_redirects_with_a_message(admin, login, make_contact):
    contact = make_contact(first_name="Plain", last_name="Form")
    client = login(admin)
    response = client.post(
        reverse("web:contact_note_add", args=[contact.pk]), {"body": "No JS here"}, follow=True
    )
    assert response.redirect_chain[-1][0] == detail(contact)
    assert b"Note added." in response.content and b"No JS here" in response.content


def test_empty_note_shows_the_error_in_the_form_and_saves_nothing(admin, login, make_contact):
    contact = make_contact(first_name="Empty", last_name="Note")
    before = db_state()
    response = login(admin).post(
        reverse("web:contact_note_add", args=[contact.pk]),
        {"body": "   "},
        headers={"HX-Request": "true"},
    )
    assert response["HX-Retarget"] == "#note-form"
    assert b'class="field-error"' in response.content
    assert db_state() == before


def test_script_in_a_note_is_escaped(admin, login, make_contact):
    contact = make_contact(first_name="Xss", last_name="Target")
    note_create(actor=admin, contact=contact, body='<script>alert("x")</script><svg onload=1>')
    html = login(admin).get(detail(contact)).content.decode()
    assert "<script>alert" not in html and "<svg onload" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;svg onload=1&gt;" in html


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("web:contact_note_add", {"body": "sneaky"}),
        ("web:contact_tag_add", {"tag": "sneaky"}),
        ("web:contact_tag_remove", {"tag": "keep"}),
    ],
)
def test_refused_writes_change_nothing(
    admin, user_factory, login, make_contact, restrict_own, url_name, data
):
    rep = user_factory("sales")
    theirs = make_contact(first_name="Their", last_name="Contact", tags=["keep"])
    readonly = user_factory("readonly")
    restrict_own()
    before = db_state()
    # out of scope: 404
    assert login(rep).post(reverse(url_name, args=[theirs.pk]), data).status_code == 404
    # in scope but no permission: 403
    assert login(readonly).post(reverse(url_name, args=[theirs.pk]), data).status_code == 403
    # anonymous: to the login page
    assert Client().post(reverse(url_name, args=[theirs.pk]), data).status_code == 302
    assert db_state() == before


def test_tags_can_be_added_and_removed_with_htmx(admin, login, make_contact):
    contact = make_contact(first_name="Tag", last_name="Me")
    client = login(admin)
    hx = {"HX-Request": "true"}
    response = client.post(
        reverse("web:contact_tag_add", args=[contact.pk]), {"tag": "VIP <b>"}, headers=hx
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="tag-row" id="contact-tags">')
    assert "VIP &lt;b&gt;" in html
    assert list(contact.tags.values_list("name", flat=True)) == ["VIP <b>"]
    response = client.post(
        reverse("web:contact_tag_remove", args=[contact.pk]), {"tag": "VIP <b>"}, headers=hx
    )
    assert contact.tags.count() == 0
    assert b"No tags" in response.content


def test_get_on_write_endpoints_is_refused(admin, login, make_contact):
    contact = make_contact(first_name="Get", last_name="Refused")
    client = login(admin)
    for name in ("web:contact_note_add", "web:contact_tag_add", "web:contact_tag_remove"):
        assert client.get(reverse(name, args=[contact.pk])).status_code == 405


def test_older_timeline_items_load_in_pages(admin, login, make_contact, monkeypatch):
    monkeypatch.setattr("patron.web.views.contacts.TIMELINE_SIZE", 6)
    contact = make_contact(first_name="Busy", last_name="Bee")
    base = timezone.now() - dt.timedelta(days=30)
    for i in range(10):
        Note.objects.create(contact=contact, body=f"old note {i}", author=admin)
        Note.objects.filter(body=f"old note {i}").update(created_at=base + dt.timedelta(hours=i))
    client = login(admin)
    html = client.get(detail(contact)).content.decode()
    assert "Show older" in html
    last_before = html.split("?before=")[1].split('"')[0]
    older = client.get(
        reverse("web:contact_timeline", args=[contact.pk]) + "?before=" + last_before,
        headers={"HX-Request": "true"},
    ).content.decode()
    assert 'hx-swap-oob="beforeend:#timeline-items"' in older
    shown_first = {f"old note {i}" for i in range(10) if f"old note {i}<" in html}
    shown_older = {f"old note {i}" for i in range(10) if f"old note {i}<" in older}
    assert shown_first and shown_older and not (shown_first & shown_older)
