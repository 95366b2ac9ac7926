"""Importing companies: upsert by domain, external id or name, through the company services.

- Domains are normalised (scheme, ``www.``, path, port and case removed; IDNA for
  non-ASCII names); a row with only a website gets its domain from it. Countries and
  phones go through the same normalisation as ``company_create``.
- Empty cells never clear a value. ``fill_empty`` only fills what is empty.
- Tags in the file (and the import's tags) are added, never replacing existing ones.
- Custom fields of companies can be mapped (``custom:<key>``).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from patron.accounts.models import User
from patron.contacts.custom_fields import custom_values_clean
from patron.contacts.models import Company, CustomField, CustomFieldValue
from patron.contacts.selectors import companies_visible_to
from patron.contacts.services import company_create, company_delete, company_update
from patron.contacts.services.company import _company_values
from patron.core.permissions import P
from patron.imports.models import ImportChunk, ImportRow
from patron.imports.options import ImportOptions
from patron.imports.targets.base import Context, Outcome, Row, RowError, Target, error_of, text

FIELDS = {
    "name": "Company name",
    "domain": "Domain",
    "website": "Website",
    "industry": "Industry",
    "size": "Size",
    "employees": "Employees",
    "annual_revenue": "Annual revenue",
    "phone": "Phone",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "city": "City",
    "region": "Region / state",
    "postal_code": "Postal code",
    "country": "Country",
    "external_id": "External id",
    "tags": "Tags (comma-separated)",
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("company", "company name", "organisation", "organization", "account",
             "account name", "business name", "firma", "firmenname", "unternehmen",
             "société", "societe", "entreprise", "raison sociale", "empresa",
             "nombre de empresa", "azienda", "ragione sociale", "bedrijf", "bedrijfsnaam",
             "name", "nom", "nombre"),
    "domain": ("domain", "domain name", "company domain", "email domain", "domäne",
               "domaine", "dominio", "domein"),
    "website": ("website", "web site", "url", "homepage", "web", "webseite", "site web",
                "site internet", "sitio web", "página web", "sito web", "sito"),
    "industry": ("industry", "sector", "vertical", "branche", "industrie", "secteur",
                 "secteur d'activité", "industria", "sector económico", "settore"),
    "size": ("size", "company size", "größe", "unternehmensgröße", "taille", "tamaño",
             "dimensione", "grootte"),
    "employees": ("employees", "number of employees", "employee count", "headcount",
                  "staff", "mitarbeiter", "mitarbeiterzahl", "anzahl mitarbeiter",
                  "effectif", "employés", "empleados", "dipendenti", "medewerkers",
                  "werknemers", "funcionários"),
    "annual_revenue": ("annual revenue", "revenue", "turnover", "umsatz", "jahresumsatz",
                       "chiffre d'affaires", "ca", "ingresos", "facturación", "fatturato",
                       "omzet", "receita"),
    "phone": ("phone", "telephone", "phone number", "main phone", "telefon",
              "telefonnummer", "téléphone", "teléfono", "telefono", "telefoon"),
    "address_line1": ("address", "street", "street address", "address line 1", "adresse",
                      "straße", "strasse", "rue", "dirección", "calle", "indirizzo",
                      "adres", "straat", "endereço"),
    "address_line2": ("address 2", "address line 2", "adresszusatz", "complément d'adresse",
                      "complemento"),
    "city": ("city", "town", "stadt", "ort", "ville", "ciudad", "città", "citta", "stad",
             "plaats", "cidade"),
    "region": ("region", "state", "province", "county", "bundesland", "région",
               "provincia", "estado", "regione", "provincie"),
    "postal_code": ("postal code", "postcode", "zip", "zip code", "postleitzahl", "plz",
                    "code postal", "código postal", "cap", "cep"),
    "country": ("country", "country code", "land", "pays", "país", "pais", "paese",
                "nazione"),
    "external_id": ("external id", "id", "company id", "account id", "crm id", "record id",
                    "firmennummer", "kundennummer", "identifiant", "id empresa",
                    "id azienda", "bedrijfsnummer"),
    "tags": ("tags", "tag", "labels", "label", "schlagwörter", "étiquettes", "etiquetas",
             "etichette"),
}  # fmt: skip

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_MAX_TAGS = 20


def normalize_domain(raw: str) -> str:
    """``https://WWW.Example.com:443/about`` -> ``example.com``; RowError if not a domain."""
    value = raw.strip().lower()
    if not value:
        return ""
    if "://" not in value:
        value = "//" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError as exc:
        raise RowError("domain", f"Not a domain: {raw[:60]!r}.") from exc
    host = host.rstrip(".").removeprefix("www.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise RowError("domain", f"Not a domain: {raw[:60]!r}.") from exc
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(p) for p in labels):
        raise RowError("domain", f"Not a domain: {raw[:60]!r}.")
    return host


def _tags(raw: str, extra: tuple[str, ...]) -> list[str]:
    names = [t.strip() for t in raw.split(",") if t.strip()] if raw else []
    return list(dict.fromkeys([*names, *extra]))[:_MAX_TAGS]


def _custom_text(field: CustomField, typed: list[dict[str, Any]]) -> list[str]:
    return [str(CustomFieldValue(field=field, **tv).value) for tv in typed]


class CompaniesTarget(Target):
    name = "companies"
    label = "Companies"
    fields = FIELDS
    synonyms = SYNONYMS
    keys = ("domain", "external_id", "name")
    custom_entity: ClassVar[str | None] = "company"

    def permissions(self, options: ImportOptions) -> list[str]:
        perms: list[str] = [P.COMPANY_VIEW]
        if options.on_new == "create":
            perms.append(P.COMPANY_CREATE)
        if options.on_existing != "skip":
            perms.append(P.COMPANY_EDIT)
        return perms

    def rollback_permissions(self) -> list[str]:
        return [P.COMPANY_EDIT, P.COMPANY_DELETE]

    # --- one row ------------------------------------------------------------------------

    def _values(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        raw = {k: text(values, k) for k in FIELDS if k not in ("tags",) and k in values}
        raw = {k: v for k, v in raw.items() if v}
        if "domain" in raw:
            raw["domain"] = normalize_domain(raw["domain"])
        elif "website" in raw:
            with contextlib.suppress(RowError):
                raw["domain"] = normalize_domain(raw["website"])
        if "website" in raw and "://" not in raw["website"]:
            raw["website"] = "https://" + raw["website"]
        for key in ("employees", "annual_revenue"):
            if key in raw:
                raw[key] = raw[key].replace(" ", "").replace(",", "")
        cleaned, errors = _company_values(raw)
        if errors:
            name, reasons = next(iter(errors.items()))
            raise RowError(name, " ".join(reasons))
        for key, value in list(cleaned.items()):
            if key in ("employees", "annual_revenue") and value is not None:
                try:
                    cleaned[key] = Company._meta.get_field(key).to_python(value)  # type: ignore[union-attr]
                except Exception as exc:
                    raise RowError(key, f"Not a number: {str(value)[:40]!r}.") from exc
        custom = {
            k[7:]: v for k, v in values.items() if k.startswith("custom:") and text(values, k)
        }
        return cleaned, {k: text(custom, k) for k in custom}

    def _existing(self, ctx: Context, key: str, values: dict[str, Any]) -> Company | None:
        wanted = values.get(key)
        if not wanted:
            raise RowError(key, f"No value for the import key {key!r}.")
        qs = companies_visible_to(ctx.actor)
        if key == "name":
            found = list(qs.filter(name__iexact=wanted).order_by("pk")[:2])
            if len(found) > 1:
                raise RowError("name", f"Several companies are called {wanted[:60]!r}.")
            return found[0] if found else None
        hidden = Company.objects.filter(**{key: wanted}).exclude(pk__in=qs.values("pk"))
        if key == "external_id" and hidden.exists():
            raise RowError(key, "A company you cannot see has this external id.")
        return qs.filter(**{key: wanted}).order_by("pk").first()

    def process(self, ctx: Context, unit: list[Row]) -> Outcome:
        row, raw = unit[0]
        values, custom_raw = self._values(raw)
        tags = _tags(text(raw, "tags"), ctx.options.tags)
        custom = custom_values_clean("company", custom_raw, creating=False) if custom_raw else {}
        company = self._existing(ctx, ctx.options.key, values)
        if company is None:
            if ctx.options.on_new != "create":
                return Outcome(row=row, action="skipped", reason="No company with this key.")
            data: dict[str, Any] = {**values}
            if tags:
                data["tags"] = tags
            if custom_raw:
                data["custom"] = custom_raw
            created = company_create(actor=ctx.actor, data=data)
            key = str(values.get(ctx.options.key) or "").lower()
            return Outcome(row=row, action="created", object_id=created.pk, key=key)
        if ctx.options.on_existing == "skip":
            return Outcome(row=row, action="skipped", object_id=company.pk, reason="Exists.")
        fill_only = ctx.options.on_existing == "fill_empty"
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for key, value in values.items():
            current = getattr(company, key)
            if current == value or (fill_only and current not in ("", None)):
                continue
            before[key], after[key] = current, value
        current_tags = list(company.tags.order_by("name").values_list("name", flat=True))
        added = [t for t in tags if t not in current_tags]
        custom_change: dict[str, Any] = {}
        for fld, typed in custom.items():
            now = [
                str(v.value)
                for v in CustomFieldValue.objects.filter(field=fld, company=company).order_by("id")
            ]
            new = _custom_text(fld, typed)
            if now != new and not (fill_only and now):
                custom_change[fld.key] = (now, new)
        if not after and not added and not custom_change:
            return Outcome(row=row, action="unchanged", object_id=company.pk)
        data = dict(after)
        if added:
            data["tags"] = [*current_tags, *added]
            before["tags_added"], after["tags_added"] = [], added
        if custom_change:
            data["custom"] = {k: custom_raw[k] for k in custom_change}
            before["custom"] = {k: b for k, (b, _) in custom_change.items()}
            after["custom"] = {k: a for k, (_, a) in custom_change.items()}
        company_update(actor=ctx.actor, company=company.pk, data=data)
        return Outcome(row=row, action="updated", object_id=company.pk, before=before, after=after)

    # --- rollback -------------------------------------------------------------------------

    def rollback(self, *, actor: User, job: Any, report: dict[str, Any]) -> None:
        restored = 0
        for r in ImportRow.objects.filter(job=job, action="updated").order_by("-row"):
            company = companies_visible_to(actor).filter(pk=r.contact_id or 0).first()
            if company is None:
                report["missing"].append(r.contact_id)
                continue
            before, after = r.changes.get("before", {}), r.changes.get("after", {})
            data: dict[str, Any] = {}
            for key, old in before.items():
                if key in ("tags_added", "custom"):
                    continue
                now = getattr(company, key)
                if str(now if now is not None else "") != str(after.get(key) or ""):
                    report["conflicts"].append({"id": company.pk, "field": key})
                    continue
                data[key] = old if old is not None else ""
            added = after.get("tags_added") or []
            if added:
                names = company.tags.values_list("name", flat=True)
                data["tags"] = [t for t in names if t not in added]
            custom_before = before.get("custom") or {}
            if custom_before:
                data["custom"] = {
                    k: (v[0] if len(v) == 1 else v) or None for k, v in custom_before.items()
                }
            try:
                company_update(actor=actor, company=company.pk, data=data)
                restored += 1
            except Exception as exc:  # a value someone made invalid since: report, go on
                report["conflicts"].append({"id": company.pk, "reason": error_of(exc)[1]})
        removed = 0
        for chunk in ImportChunk.objects.filter(job=job).order_by("seq"):
            ids = [oid for _, oid in chunk.created]
            for company in companies_visible_to(actor).filter(pk__in=ids):
                company_delete(actor=actor, company=company.pk)
                removed += 1
        report.update(restored=restored, removed=removed)
