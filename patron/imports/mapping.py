"""Matching file columns to contact fields: names and synonyms in several languages.

A target is a contact field name (``email``, ``first_name`` ...), ``company``, ``tags``,
``custom:<key>`` for a custom field, or ``""`` (ignore the column). Headers are compared
in folded form (lower case, letters and digits only: ``E-Mail`` == ``email``), so
``E-mail``, ``Mobile``, ``Vorname``, ``Nachname``, ``Prénom``, ``Teléfono`` and
``Company name`` find their field.

Other import targets (companies, orders, tickets, events) bring their own fields and
synonyms (``patron.imports.targets``); ``target=`` selects them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from rapidfuzz import fuzz, process

from patron.contacts.services import CONTACT_FIELDS
from patron.hygiene.normalize import fold

# Contact columns an import may set (the same names as Contact's fields).
CONTACT_TARGETS = CONTACT_FIELDS
EXTRA_TARGETS = ("company", "tags")
TARGET_LABELS = {
    "full_name": "Full name",
    "prefix": "Title / prefix",
    "first_name": "First name",
    "middle_name": "Middle name",
    "last_name": "Last name",
    "suffix": "Suffix",
    "email": "Email",
    "phone": "Phone",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "city": "City",
    "region": "Region / state",
    "postal_code": "Postal code",
    "country": "Country",
    "language": "Language",
    "time_zone": "Time zone",
    "birthday": "Birthday",
    "job_title": "Job title",
    "lifecycle_stage": "Lifecycle stage",
    "source": "Source",
    "external_id": "External id",
    "company": "Company (name)",
    "tags": "Tags (comma-separated)",
}

# English, German, French, Spanish, Italian, Dutch, Portuguese; folded on load.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "full_name": (
        "name", "full name", "fullname", "contact name", "contact", "person", "display name",
        "vollständiger name", "nom complet", "nombre completo", "nome completo",
        "volledige naam", "naam",
    ),
    "prefix": ("salutation", "anrede", "titel", "civilité", "titre", "tratamiento",
               "saludo", "titolo", "aanhef"),
    "first_name": (
        "first name", "firstname", "first", "given name", "givenname", "forename", "fname",
        "vorname", "prénom", "prenom", "nombre", "nome", "voornaam", "primeiro nome",
    ),
    "middle_name": ("middle name", "middlename", "middle", "zweiter vorname",
                    "deuxième prénom", "segundo nombre", "tussenvoegsel"),
    "last_name": (
        "last name", "lastname", "last", "surname", "family name", "familyname", "lname",
        "nachname", "familienname", "nom", "nom de famille", "apellido", "apellidos",
        "cognome", "achternaam", "sobrenome", "apelido",
    ),
    "suffix": ("suffix", "namenszusatz", "suffixe", "sufijo"),
    "email": (
        "email", "e-mail", "email address", "e-mail address", "mail", "e mail", "emailaddress",
        "e-mail-adresse", "emailadresse", "adresse e-mail", "courriel", "adresse électronique",
        "correo", "correo electrónico", "correo electronico", "posta elettronica",
        "indirizzo email", "e-mailadres", "primary email", "work email",
    ),
    "phone": (
        "phone", "phone number", "telephone", "tel", "mobile", "mobile phone", "mobile number",
        "cell", "cell phone", "cellphone", "work phone", "primary phone",
        "telefon", "telefonnummer", "handy", "mobil", "mobiltelefon", "mobilnummer",
        "téléphone", "telephone portable", "portable", "numéro de téléphone",
        "teléfono", "telefono", "móvil", "movil", "celular", "cellulare",
        "telefoonnummer", "mobiel", "telemóvel", "telefone",
    ),
    "address_line1": (
        "address", "address 1", "address line 1", "street", "street address", "adresse",
        "straße", "strasse", "straße und hausnummer", "rue", "dirección", "direccion",
        "calle", "indirizzo", "via", "adres", "straat", "endereço", "endereco", "rua",
    ),
    "address_line2": ("address 2", "address line 2", "adresszusatz", "complément d'adresse",
                      "complemento", "apartment", "suite"),
    "city": ("city", "town", "locality", "stadt", "ort", "wohnort", "ville", "ciudad",
             "localidad", "città", "citta", "stad", "plaats", "woonplaats", "cidade"),
    "region": ("region", "state", "province", "county", "state/province", "bundesland",
               "région", "provincia", "estado", "regione", "provincie"),
    "postal_code": (
        "postal code", "postcode", "post code", "zip", "zip code", "zipcode", "postleitzahl",
        "plz", "code postal", "cp", "código postal", "codigo postal", "cap",
        "postcode nl", "cep",
    ),
    "country": ("country", "country code", "nation", "land", "pays", "país", "pais", "paese",
                "nazione"),
    "language": ("language", "lang", "locale", "sprache", "langue", "idioma", "lingua", "taal"),
    "time_zone": ("time zone", "timezone", "tz", "zeitzone", "fuseau horaire",
                  "zona horaria"),
    "birthday": (
        "birthday", "birth date", "birthdate", "date of birth", "dob", "geburtstag",
        "geburtsdatum", "date de naissance", "anniversaire", "fecha de nacimiento",
        "cumpleaños", "data di nascita", "geboortedatum", "data de nascimento",
    ),
    "job_title": (
        "job title", "jobtitle", "title", "title at company", "position", "role", "job",
        "occupation",
        "berufsbezeichnung", "position im unternehmen", "beruf", "poste", "fonction",
        "cargo", "puesto", "ruolo", "functie", "função",
    ),
    "lifecycle_stage": ("lifecycle stage", "lifecycle", "stage", "status", "lead status",
                        "phase"),
    "source": ("source", "lead source", "origin", "quelle", "herkunft", "origine", "fuente",
               "origen", "fonte", "bron"),
    "external_id": (
        "external id", "externalid", "id", "customer id", "customer number", "contact id",
        "record id", "crm id", "kundennummer", "kunden-id", "numéro client",
        "identifiant", "id cliente", "número de cliente", "klantnummer",
    ),
    "company": (
        "company", "company name", "organisation", "organization", "organisation name",
        "organization name", "account", "account name", "employer", "business",
        "firma", "unternehmen", "firmenname", "société", "societe", "entreprise",
        "empresa", "compañía", "azienda", "società", "bedrijf", "bedrijfsnaam",
    ),
    "tags": ("tags", "tag", "labels", "label", "groups", "schlagwörter", "étiquettes",
             "etiquetas", "etichette"),
}  # fmt: skip


def target_fields(target: str = "contacts") -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """({field: label}, {field: synonyms}) of an import target."""
    if target == "contacts":
        labels = {t: TARGET_LABELS[t] for t in (*CONTACT_TARGETS, *EXTRA_TARGETS)}
        return labels, SYNONYMS
    from patron.imports.targets import target_for

    t = target_for(target)
    return dict(t.fields), dict(t.synonyms)


@functools.cache
def _index(target: str = "contacts") -> dict[str, str]:
    labels, synonyms = target_fields(target)
    out: dict[str, str] = {}
    for name, label in labels.items():
        out.setdefault(fold(name), name)
        out.setdefault(fold(label), name)
    for name, words in synonyms.items():
        for word in words:
            out.setdefault(fold(word), name)
    return out


def valid_targets(custom_keys: Iterable[str], target: str = "contacts") -> set[str]:
    return {*target_fields(target)[0], *(f"custom:{k}" for k in custom_keys)}


def auto_map(
    headers: list[str],
    *,
    custom_fields: Mapping[str, str] | None = None,
    saved: Mapping[str, str] | None = None,
    target: str = "contacts",
) -> dict[str, str]:
    """{header: target} for every header ("" when nothing fits); each target used once.

    ``custom_fields`` is {key: label}; ``saved`` a saved mapping applied first.
    Order of preference: saved mapping, exact synonym, custom field key/label, fuzzy.
    """
    custom = dict(custom_fields or {})
    custom_index: dict[str, str] = {}
    for key, label in custom.items():
        custom_index.setdefault(fold(key), f"custom:{key}")
        custom_index.setdefault(fold(label), f"custom:{key}")
    allowed = valid_targets(custom, target)
    index = _index(target)
    result: dict[str, str] = dict.fromkeys(headers, "")
    used: set[str] = set()

    def take(header: str, target: str) -> None:
        if target and target in allowed and target not in used and not result[header]:
            result[header] = target
            used.add(target)

    for header in headers:
        if saved and header in saved:
            take(header, saved[header])
    for header in headers:
        key = fold(header)
        take(header, index.get(key, ""))
        take(header, custom_index.get(key, ""))
    choices = {**{k: v for k, v in index.items() if len(k) >= 4}, **custom_index}
    for header in headers:
        if result[header] or len(fold(header)) < 4:
            continue
        found = process.extractOne(fold(header), list(choices), scorer=fuzz.ratio)
        if found and found[1] >= 88:
            take(header, choices[found[0]])
    return result


def mapping_clean(
    mapping: Mapping[str, str],
    headers: list[str],
    custom_keys: Iterable[str],
    target: str = "contacts",
) -> dict[str, str]:
    """Check a user-chosen mapping: known headers, allowlisted targets, no target twice."""
    from django.core.exceptions import ValidationError

    allowed = valid_targets(custom_keys, target)
    errors: dict[str, list[str]] = {}
    out: dict[str, str] = dict.fromkeys(headers, "")
    used: dict[str, str] = {}
    for header, target in mapping.items():
        if header not in out:
            errors[f"mapping.{str(header)[:60]}"] = ["No such column in the file."]
            continue
        target = str(target or "")
        if not target:
            continue
        if target not in allowed:
            errors[f"mapping.{header[:60]}"] = [f"Unknown field {target[:60]!r}."]
            continue
        if target in used:
            errors[f"mapping.{header[:60]}"] = [
                f"{target!r} is already mapped from column {used[target][:60]!r}."
            ]
            continue
        used[target] = header
        out[header] = target
    if errors:
        raise ValidationError(errors)
    return out
