"""Countries to ISO 3166-1 alpha-2 codes.

Understands alpha-2/alpha-3 codes, English short, official and common names, the names
in the languages listed in ``LANGUAGES`` (pycountry's translations: Deutschland, Allemagne,
España, Niederlande, ...), and the informal variants people type (UK, USA, Holland, ...).
"""

from __future__ import annotations

import gettext
from functools import lru_cache

import pycountry

from patron.hygiene.normalize.text import NormalizationError, clean_text, fold

LANGUAGES = (
    "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "nb", "fi", "cs", "tr", "ru", "el",
    "hu", "ro", "ja", "zh_CN", "ko", "ar",
)  # fmt: skip

# Informal names and abbreviations not in ISO's lists (keys are folded).
VARIANTS = {
    "uk": "GB", "gb": "GB", "gbr": "GB", "greatbritain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northernireland": "GB", "unitedkingdom": "GB",
    "grossbritannien": "GB", "grandebretagne": "GB", "granbretana": "GB", "engeland": "GB",
    "inghilterra": "GB", "angleterre": "GB", "inglaterra": "GB", "england uk": "GB",
    "usa": "US", "us": "US", "unitedstates": "US", "unitedstatesofamerica": "US",
    "america": "US", "amerika": "US", "etatsunis": "US", "estadosunidos": "US",
    "statiuniti": "US", "verenigdestaten": "US", "vereinigtestaaten": "US", "eeuu": "US",
    "holland": "NL", "thenetherlands": "NL", "nederland": "NL", "paysbas": "NL",
    "hollande": "NL", "olanda": "NL", "holanda": "NL",
    "deutschland": "DE", "allemagne": "DE", "alemania": "DE", "germania": "DE",
    "duitsland": "DE", "niemcy": "DE", "brd": "DE", "westgermany": "DE",
    "espana": "ES", "espagne": "ES", "spanien": "ES", "spagna": "ES",
    "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "suiza": "CH", "swiss": "CH",
    "osterreich": "AT", "oesterreich": "AT", "autriche": "AT",
    "czechia": "CZ", "czechrepublic": "CZ", "cesko": "CZ", "tschechien": "CZ",
    "southkorea": "KR", "korea": "KR", "northkorea": "KP", "russia": "RU", "russland": "RU",
    "turkey": "TR", "turkiye": "TR", "turkei": "TR", "vietnam": "VN", "iran": "IR",
    "syria": "SY", "laos": "LA", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ",
    "moldova": "MD", "taiwan": "TW", "macedonia": "MK", "ivorycoast": "CI",
    "uae": "AE", "emirates": "AE", "ksa": "SA", "prc": "CN", "mainlandchina": "CN",
    "eire": "IE", "irland": "IE", "irlande": "IE", "ireland": "IE",
    "brasil": "BR", "brasilien": "BR", "bresil": "BR", "mexiko": "MX", "mexique": "MX",
    "belgique": "BE", "belgie": "BE", "belgien": "BE",
    "vaticancity": "VA", "holysee": "VA", "burma": "MM", "capeverde": "CV",
    "swaziland": "SZ", "easttimor": "TL", "palestine": "PS", "kosovo": "XK",
}  # fmt: skip


def _key(text: str) -> str:
    key = fold(text)
    return key[3:] if key.startswith("the") and len(key) > 6 else key


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    translators = []
    for lang in LANGUAGES:
        try:
            translators.append(
                gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
            )
        except OSError:
            continue
    for country in pycountry.countries:
        code = str(country.alpha_2)
        names = [str(getattr(country, a, "") or "") for a in ("name", "official_name")]
        names.append(str(getattr(country, "common_name", "") or ""))
        for name in list(names):
            if name:
                names.extend(t.gettext(name) for t in translators)
        for name in names:
            if name:
                index.setdefault(_key(name), code)
                # "Korea, Republic of" -> also "Korea"; "Bolivia (Plurinational State of)".
                short = name.split(",")[0].split("(")[0]
                index.setdefault(_key(short), code)
    for variant, code in VARIANTS.items():
        index[_key(variant)] = code
    return index


def normalize_country(value: object) -> str:
    """The ISO 3166-1 alpha-2 code for a code or a name, or NormalizationError."""
    text = clean_text(value, form="NFKC")
    if not text:
        return ""
    if len(text) > 100:
        raise NormalizationError("Unknown country.")
    stripped = text.replace(".", "").strip()
    upper = stripped.upper()
    if len(upper) == 2 and upper.isascii() and pycountry.countries.get(alpha_2=upper):
        return upper
    if len(upper) == 3 and upper.isascii() and (c := pycountry.countries.get(alpha_3=upper)):
        return str(c.alpha_2)
    code = _index().get(_key(text))
    if code:
        return code
    raise NormalizationError(f"Unknown country: {text[:60]!r}.")
