"""Contacts, companies, custom fields, tags, static lists and notes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from patron.hygiene.normalize.email import email_match_key

DEFAULT_LIFECYCLE_STAGES: list[dict[str, str]] = [
    {"key": "subscriber", "label": "Subscriber"},
    {"key": "lead", "label": "Lead"},
    {"key": "mql", "label": "Marketing-qualified lead"},
    {"key": "sql", "label": "Sales-qualified lead"},
    {"key": "opportunity", "label": "Opportunity"},
    {"key": "customer", "label": "Customer"},
    {"key": "evangelist", "label": "Evangelist"},
    {"key": "churned", "label": "Churned"},
]


class Tag(models.Model):
    name = models.CharField(max_length=80, unique=True)
    color = models.CharField(max_length=7, default="#64748b")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Company(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True, db_index=True)
    industry = models.CharField(max_length=120, blank=True)
    size = models.CharField(max_length=20, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    website = models.URLField(max_length=300, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=120, blank=True)
    region = models.CharField(max_length=120, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_companies",
    )
    external_id = models.CharField(max_length=120, null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="company_external_id_unique",
            )
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="company_name_idx"),
            models.Index(fields=["owner", "id"], name="company_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    # Name as entered, and its parsed parts.
    full_name = models.CharField(max_length=300, blank=True)
    prefix = models.CharField(max_length=40, blank=True)
    first_name = models.CharField(max_length=120, blank=True)
    middle_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120, blank=True)
    suffix = models.CharField(max_length=40, blank=True)
    # Primary contact points; further ones are ContactIdentity rows.
    email = models.CharField(max_length=254, blank=True)  # indexed with id below
    # Indexed in Meta (a plain b-tree: PostgreSQL's automatic varchar_pattern_ops twin
    # would serve only case-sensitive LIKE 'x%', which no query runs on these columns).
    phone = models.CharField(max_length=32, blank=True)
    # Postal address
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=120, blank=True)
    region = models.CharField(max_length=120, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)  # indexed with id below
    language = models.CharField(max_length=16, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    birthday = models.DateField(null=True, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    lifecycle_stage = models.CharField(max_length=40, blank=True)  # indexed with id below
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
        db_index=False,  # contact_owner_idx (owner_id, id) serves every owner_id look-up
    )
    source = models.CharField(max_length=120, blank=True)
    external_id = models.CharField(max_length=120, null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    companies = models.ManyToManyField(
        Company, through="ContactCompany", blank=True, related_name="contacts"
    )
    # Lower-cased "first last email phone" for fast substring search.
    search_text = models.CharField(max_length=700, blank=True)
    # Data hygiene (patron.hygiene): matching keys, set by every write path, used only for
    # duplicate detection; values that could not be normalised, kept as entered:
    # {"field": {"value": "as entered", "reason": "..."}}.
    email_match_key = models.CharField(max_length=254, blank=True)  # indexed in Meta
    name_key = models.CharField(max_length=64, blank=True)  # indexed in Meta
    invalid_fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="contact_external_id_unique",
            )
        ]
        indexes = [
            # Keyset pagination: one (sort column, id) index per sortable column.
            models.Index(fields=["last_name", "id"], name="contact_name_idx"),
            models.Index(fields=["first_name", "id"], name="contact_first_name_idx"),
            models.Index(fields=["email", "id"], name="contact_email_sort_idx"),
            models.Index(fields=["lifecycle_stage", "id"], name="contact_stage_sort_idx"),
            models.Index(fields=["country", "id"], name="contact_country_sort_idx"),
            models.Index(fields=["owner", "id"], name="contact_owner_idx"),
            models.Index(fields=["created_at", "id"], name="contact_created_idx"),
            models.Index(fields=["updated_at", "id"], name="contact_updated_idx"),
            models.Index(fields=["postal_code", "birthday"], name="contact_postcode_bday_idx"),
            # Equality / IN look-ups of the duplicate check, imports and identity resolution.
            models.Index(fields=["phone"], name="contact_phone_idx"),
            models.Index(fields=["email_match_key"], name="contact_email_key_idx"),
            models.Index(fields=["name_key"], name="contact_name_key_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.full_name or self.email or self.phone or f"Contact #{self.pk}"


class ContactIdentity(models.Model):
    """Every identifier known for a contact: emails, phones, user and anonymous ids.

    The primary email/phone live on Contact too; this table keeps the further ones and
    is the identity graph the tracking API resolves against.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        USER_ID = "user_id", "User id"
        ANONYMOUS_ID = "anonymous_id", "Anonymous id"

    # db_index=False: contact_identity_unique (contact_id, kind, value) serves contact_id.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="identities", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=254)
    # Emails only: the hygiene match key of ``value`` (as ``Contact.email_match_key``), so
    # a plus-tag or dotted Gmail variant finds the contact; every writer sets it.
    match_key = models.CharField(max_length=254, blank=True, default="")
    label = models.CharField(max_length=40, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "kind", "value"], name="contact_identity_unique"
            )
        ]
        indexes = [
            models.Index(fields=["kind", "value"], name="identity_lookup_idx"),
            # Partial: emails are a small part of the graph (anonymous ids are most of it).
            models.Index(
                fields=["kind", "match_key"],
                name="identity_email_key_idx",
                condition=Q(kind="email"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @staticmethod
    def match_key_for(kind: str, value: str) -> str:
        """The ``match_key`` of an identity: an email's hygiene match key (its lower-cased
        form when it is no valid address); "" for the other kinds."""
        if kind != ContactIdentity.Kind.EMAIL:
            return ""
        return email_match_key(value) or value.lower()


class ContactCompany(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=120, blank=True)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "company"], name="contact_company_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}@{self.company_id}"


class CustomField(models.Model):
    class Entity(models.TextChoices):
        CONTACT = "contact", "Contact"
        COMPANY = "company", "Company"

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes/no"
        CHOICE = "choice", "Choice"
        MULTI_CHOICE = "multi_choice", "Multiple choice"
        URL = "url", "URL"

    entity = models.CharField(max_length=10, choices=Entity.choices)
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)
    type = models.CharField(max_length=16, choices=Type.choices)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    sensitive = models.BooleanField(default=False)
    max_length = models.PositiveIntegerField(default=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity", "label"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "key"], name="custom_field_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.entity}.{self.key}"


class CustomFieldValue(models.Model):
    """A typed value, one row per value (multi-choice: one row per chosen option).

    Typed columns make values filterable and indexable on SQLite and PostgreSQL alike.
    """

    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="values")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="custom_values"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="custom_values"
    )
    value_text = models.TextField(null=True, blank=True)
    value_number = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)
    value_bool = models.BooleanField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["field", "value_text"], name="cfv_text_idx"),
            models.Index(fields=["field", "value_number"], name="cfv_number_idx"),
            models.Index(fields=["field", "value_date"], name="cfv_date_idx"),
            models.Index(fields=["contact", "field"], name="cfv_contact_idx"),
            models.Index(fields=["company", "field"], name="cfv_company_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, company__isnull=True)
                | Q(contact__isnull=True, company__isnull=False),
                name="cfv_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.field_id}={self.value}"

    @property
    def value(self) -> object:
        for v in (self.value_text, self.value_number, self.value_date, self.value_bool):
            if v is not None:
                return v
        return None


class ContactList(models.Model):
    """A static list: contacts added and removed by hand or by import."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    contacts = models.ManyToManyField(Contact, through="ContactListMember", related_name="lists")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ContactListMember(models.Model):
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_list", "contact"], name="list_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact_list_id}:{self.contact_id}"


class Note(models.Model):
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(company__isnull=False),
                name="note_has_subject",
            )
        ]

    def __str__(self) -> str:
        return self.body[:60]
