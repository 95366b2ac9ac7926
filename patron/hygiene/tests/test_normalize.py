"""Normalisation: examples for every kind of value, and properties over hostile input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.hygiene.normalize import (
    NormalizationError,
    clean_text,
    contact_input_normalize,
    email_match_key,
    name_key,
    name_parse,
    normalize_country,
    normalize_date,
    normalize_email,
    normalize_phone,
    phone_is_valid,
)

# --- phones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("030 1234567", "DE", "+49301234567"),
        ("(030) 123-4567", "DE", "+49301234567"),
        ("+49 30 1234567", "US", "+49301234567"),
        ("0049 30 1234567", "US", "+49301234567"),
        ("0049-30-1234567", "GB", "+49301234567"),
        ("011 49 30 1234567", "US", "+49301234567"),
        ("+49 (0)30 1234567", "FR", "+49301234567"),
        ("415.555.0100", "US", "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("1-415-555-0100", "US", "+14155550100"),
        ("+1 415 555 0100", "DE", "+14155550100"),
        ("415-555-0100 ext. 123", "US", "+14155550100;ext=123"),
        ("415 555 0100 x9", "US", "+14155550100;ext=9"),
        ("1-800-FLOWERS", "US", "+18003569377"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0) 20 7946 0958", "US", "+442079460958"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("＋４９ ３０ １２３４５６７", "US", "+49301234567"),  # full-width digits
        ("  +49\u200b30\u00a01234567 ", "US", "+49301234567"),  # zero-width and nbsp
    ],
)
def test_phones_in_every_format_become_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    "raw", ["abc", "12", "+", "++49", "call me maybe", "1" * 70, "<script>1</script>", "=1+2"]
)
def test_impossible_phones_are_refused(raw: str) -> None:
    with pytest.raises(NormalizationError):
        normalize_phone(raw, "US")


def test_phone_validity_is_stricter_than_possibility() -> None:
    assert phone_is_valid("+10301234567") is False  # possible length, no such area code
    assert phone_is_valid("+14155550100") is True
    assert phone_is_valid("+442079460958") is True
    assert phone_is_valid("+49301234567;ext=5") is True
    assert phone_is_valid("") is False


# --- emails ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jane.Doe@EXAMPLE.COM", "Jane.Doe@example.com"),
        ("  jane@example.com  ", "jane@example.com"),
        ("Jane Doe <jane@example.com>", "jane@example.com"),
        ("jörg@MÜNCHEN.de", "jörg@münchen.de"),
        ("user@xn--mnchen-3ya.de", "user@münchen.de"),
        ("用户@例子.广告", "用户@例子.广告"),
        ("ｊａｎｅ@example.com", "jane@example.com"),  # full-width folded
        ("", ""),
    ],
)
def test_emails_are_validated_and_domain_lowercased(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        '"john doe"@example.com',  # quoted local part
        "jane@[127.0.0.1]",  # domain literal
        "jane@localhost",
        "jane@example",
        "jane.@example.com",
        "jane@@example.com",
        "jane@example.com\r\nBcc: victim@example.com",  # header injection
        "<script>@example.com",
        "a" * 300 + "@example.com",
        "=HYPERLINK(1)@example.com",
    ],
)
def test_bad_emails_are_refused(raw: str) -> None:
    with pytest.raises(NormalizationError):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Jane.Doe+news@GoogleMail.com", "janedoe@gmail.com"),
        ("j.a.n.e.doe@gmail.com", "JaneDoe@Gmail.com"),
        ("jane+crm@example.com", "JANE@example.com"),
        ("user@münchen.de", "USER@xn--mnchen-3ya.de"),
    ],
)
def test_match_key_ignores_provider_dots_and_plus_tags(a: str, b: str) -> None:
    assert email_match_key(a) == email_match_key(b) != ""


def test_match_key_keeps_dots_where_they_matter() -> None:
    assert email_match_key("jane.doe@example.com") != email_match_key("janedoe@example.com")
    assert email_match_key("not an email") == ""


# --- names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("JOHN MCDONALD", ("", "John", "", "McDonald", "")),
        ("mary o'neil", ("", "Mary", "", "O'Neil", "")),
        ("ludwig van der berg", ("", "Ludwig", "", "van der Berg", "")),
        ("DR. JANE DE LA CRUZ JR.", ("Dr.", "Jane", "", "de la Cruz", "Jr.")),
        ("JEAN-PAUL MACDONALD III", ("", "Jean-Paul", "", "MacDonald", "III")),
        ("MARIA MACHADO", ("", "Maria", "", "Machado", "")),
        ("Dr. Jane van der Berg Jr.", ("Dr.", "Jane", "", "van der Berg", "Jr.")),
        ("DeShawn McKay", ("", "DeShawn", "", "McKay", "")),  # mixed case trusted
        ("Madonna", ("", "Madonna", "", "", "")),
        ("Smith, John", ("", "John", "", "Smith", "")),
        ("ÉLODIE ÇELIK", ("", "Élodie", "", "Çelik", "")),
    ],
)
def test_names_parse_and_recapitalise_only_flat_input(raw: str, parts: tuple[str, ...]) -> None:
    parsed = name_parse(full_name=raw)
    assert parsed.full_name == raw  # what was entered is kept
    assert (
        parsed.prefix,
        parsed.first_name,
        parsed.middle_name,
        parsed.last_name,
        parsed.suffix,
    ) == parts


def test_name_parts_given_separately_are_recased_when_flat() -> None:
    parsed = name_parse(first_name="ROBERT", last_name="VAN DER BERG")
    assert (parsed.first_name, parsed.last_name) == ("Robert", "van der Berg")
    assert parsed.full_name == "Robert van der Berg"
    assert name_parse(first_name="anne-marie", last_name="d'arcy").last_name == "D'Arcy"


def test_name_key_folds_accents_and_nicknames() -> None:
    assert name_key("Bob", "Müller") == name_key("Robert", "MULLER") == "muller|r"
    assert name_key("Liz", "van der Berg") == name_key("Elizabeth", "Van Der Berg")
    assert name_key("Madonna", "") == ""


# --- countries and dates --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("DE", "DE"),
        ("deu", "DE"),
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("Allemagne", "DE"),
        ("Alemania", "DE"),
        ("España", "ES"),
        ("Espagne", "ES"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("Great Britain", "GB"),
        ("Vereinigtes Königreich", "GB"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United States of America", "US"),
        ("Holland", "NL"),
        ("The Netherlands", "NL"),
        ("Pays-Bas", "NL"),
        ("Österreich", "AT"),
        ("Schweiz", "CH"),
        ("South Korea", "KR"),
        ("Côte d'Ivoire", "CI"),
        ("日本", "JP"),
        ("  france ", "FR"),
    ],
)
def test_countries_in_many_languages(raw: str, code: str) -> None:
    assert normalize_country(raw) == code


@pytest.mark.parametrize("raw", ["Narnia", "XX", "Q", "<svg onload=1>", "1" * 200])
def test_unknown_countries_are_refused(raw: str) -> None:
    with pytest.raises(NormalizationError):
        normalize_country(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("2024-03-05", "US", dt.date(2024, 3, 5)),
        ("2024-03-05T10:00:00Z", "US", dt.date(2024, 3, 5)),
        ("20240305", "US", dt.date(2024, 3, 5)),
        ("05.03.2024", "US", dt.date(2024, 3, 5)),
        ("03/05/2024", "US", dt.date(2024, 3, 5)),
        ("03/05/2024", "DE", dt.date(2024, 5, 3)),
        ("13/05/2024", "US", dt.date(2024, 5, 13)),
        ("5 March 2024", "US", dt.date(2024, 3, 5)),
        ("March 5, 2024", "DE", dt.date(2024, 3, 5)),
        ("5. März 2024", "DE", dt.date(2024, 3, 5)),
        ("5 mars 1984", "FR", dt.date(1984, 3, 5)),
        ("5 Mar 84", "GB", dt.date(1984, 3, 5)),
        (dt.datetime(2024, 3, 5, 23, 0), "US", dt.date(2024, 3, 5)),
        ("", "US", None),
    ],
)
def test_dates_from_common_formats(raw: object, region: str, expected: dt.date | None) -> None:
    assert normalize_date(raw, region=region) == expected


@pytest.mark.parametrize("raw", ["31/02/2024", "yesterday", "2024-13-01", "1/2/3/4"])
def test_impossible_dates_are_refused(raw: str) -> None:
    with pytest.raises(NormalizationError):
        normalize_date(raw)


# --- the record normaliser: both modes ------------------------------------------------


def test_error_mode_reports_field_errors() -> None:
    out = contact_input_normalize(
        {"email": "nope", "phone": "abc", "country": "Narnia", "birthday": "31/02/2024"},
        on_invalid="error",
    )
    assert set(out.errors) == {"email", "phone", "country", "birthday"}
    assert out.invalid == {}


def test_flag_mode_keeps_invalid_values_as_entered() -> None:
    out = contact_input_normalize(
        {
            "full_name": "JANE DOE",
            "email": "jane at example dot com",
            "phone": "call me",
            "country": "Narnia",
            "emails": ["ok@example.com", "broken@"],
        },
        on_invalid="flag",
    )
    assert out.errors == {}
    assert out.values["first_name"] == "Jane"
    assert out.values["emails"] == ["ok@example.com"]
    assert out.invalid["email"]["value"] == "jane at example dot com"
    assert out.invalid["phone"]["value"] == "call me"
    assert out.invalid["country"]["value"] == "Narnia"
    assert out.invalid["emails"]["value"] == ["broken@"]
    # typed columns are not filled with unnormalised values
    assert "email" not in out.values and "country" not in out.values


def test_a_valid_value_clears_an_earlier_flag() -> None:
    out = contact_input_normalize({"email": "jane@example.com"}, on_invalid="flag")
    after = out.invalid_fields_after({"email": {"value": "x"}, "phone": {"value": "y"}})
    assert after == {"phone": {"value": "y"}}


def test_phone_uses_the_contact_country_before_the_default_region() -> None:
    out = contact_input_normalize({"phone": "030 1234567", "country": "Deutschland"})
    assert out.values["phone"] == "+49301234567"
    out = contact_input_normalize({"phone": "020 7946 0958"}, existing_country="GB")
    assert out.values["phone"] == "+442079460958"


# --- properties -----------------------------------------------------------------------

hostile = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120
) | st.sampled_from(
    [
        "\u202egnp.exe",
        "{{ settings.SECRET_KEY }}",
        "'; DROP TABLE contacts; --",
        "=cmd|' /C calc'!A0",
        "<svg onload=alert(1)>",
        "\x00\x01\x1b[31m",
        "ǅ" * 50,
    ]
)


@settings(max_examples=300, deadline=None)
@given(hostile)
def test_clean_text_is_idempotent_and_has_no_controls(value: str) -> None:
    cleaned = clean_text(value)
    assert clean_text(cleaned) == cleaned
    assert "\x00" not in cleaned and "\u202e" not in cleaned and "\n" not in cleaned


@settings(max_examples=300, deadline=None)
@given(hostile, st.sampled_from(["US", "DE", "GB", "FR", "IN"]))
def test_normalisers_never_crash_and_are_idempotent(value: str, region: str) -> None:
    for fn in (normalize_email, lambda v: normalize_phone(v, region), normalize_country):
        try:
            once = fn(value)
        except NormalizationError:
            continue
        assert fn(once) == once
    parsed = name_parse(full_name=value)
    assert len(parsed.first_name) <= 120 or parsed.first_name == ""
    out = contact_input_normalize(
        {"full_name": value, "email": value, "phone": value, "birthday": value},
        on_invalid="flag",
    )
    assert out.errors == {}
    for key in ("email", "phone", "birthday"):
        assert key in out.values or out.invalid[key]["value"] == value[:1000]


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[a-z]{1,10}(\.[a-z]{1,10}){0,2}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
)
def test_gmail_variants_share_one_key(local: str, tag: str) -> None:
    plain = email_match_key(f"{local.replace('.', '')}@gmail.com")
    assert email_match_key(f"{local}+{tag}@googlemail.com") == plain
    assert email_match_key(f"{local.upper()}@GMAIL.COM") == plain


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=200, max_value=999),
    st.integers(min_value=200, max_value=999),
    st.integers(min_value=0, max_value=9999),
    st.sampled_from(
        ["({a}) {b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}", "1-{a}-{b}-{c}", "{a}{b}{c}"]
    ),
)
def test_us_number_formats_agree(a: int, b: int, c: int, template: str) -> None:
    raw = template.format(a=a, b=b, c=f"{c:04d}")
    try:
        value = normalize_phone(raw, "US")
    except NormalizationError:
        return
    assert value == normalize_phone(f"+1{a}{b}{c:04d}", "DE")
