"""Demo reference data: countries, their cities (time zones, phone ranges) and FX."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class City:
    name: str
    region: str
    tz: str
    area_codes: tuple[str, ...]
    postcode_prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Country:
    code: str
    locale: str
    language: str
    weight: float
    currency: str
    tax_rate: Decimal
    phone_length: int  # digits of the national significant number
    mobile_prefixes: tuple[str, ...]
    mail_domains: tuple[str, ...]
    cities: tuple[City, ...]


def _c(name: str, region: str, tz: str, areas: str, prefixes: str) -> City:
    return City(name, region, tz, tuple(areas.split()), tuple(prefixes.split()))


NY, CHI, DEN, PHX, LA = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
)

COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        "en_US",
        "en",
        0.34,
        "USD",
        Decimal("0.07"),
        10,
        (),
        ("gmail.example", "yahoo.example", "outlook.example", "icloud.example", "aol.example"),
        (
            _c("New York", "NY", NY, "212 646 718 917", "NY"),
            _c("Los Angeles", "CA", LA, "213 310 323 818", "CA"),
            _c("Chicago", "IL", CHI, "312 773 872", "IL"),
            _c("Houston", "TX", CHI, "713 832 281", "TX"),
            _c("San Francisco", "CA", LA, "415 628", "CA"),
            _c("Seattle", "WA", LA, "206", "WA"),
            _c("Boston", "MA", NY, "617 857", "MA"),
            _c("Austin", "TX", CHI, "512 737", "TX"),
            _c("Denver", "CO", DEN, "303 720", "CO"),
            _c("Atlanta", "GA", NY, "404 470 678", "GA"),
            _c("Philadelphia", "PA", NY, "215 267", "PA"),
            _c("Phoenix", "AZ", PHX, "602 480", "AZ"),
            _c("Miami", "FL", NY, "305 786", "FL"),
            _c("Portland", "OR", LA, "503 971", "OR"),
            _c("Minneapolis", "MN", CHI, "612 952", "MN"),
            _c("Nashville", "TN", CHI, "615 629", "TN"),
            _c("San Diego", "CA", LA, "619 858", "CA"),
            _c("Charlotte", "NC", NY, "704 980", "NC"),
        ),
    ),
    Country(
        "GB",
        "en_GB",
        "en",
        0.2,
        "GBP",
        Decimal("0.20"),
        10,
        ("74", "75", "77", "78", "79"),
        ("gmail.example", "hotmail.example", "btinternet.example", "sky.example"),
        (
            _c("London", "Greater London", "Europe/London", "20", "EC1A SW1A N1 E2 SE1 W1D NW3"),
            _c("Manchester", "Greater Manchester", "Europe/London", "161", "M1 M4 M14 M20"),
            _c("Birmingham", "West Midlands", "Europe/London", "121", "B1 B15 B29"),
            _c("Leeds", "West Yorkshire", "Europe/London", "113", "LS1 LS6 LS11"),
            _c("Glasgow", "Glasgow City", "Europe/London", "141", "G1 G3 G12"),
            _c("Edinburgh", "City of Edinburgh", "Europe/London", "131", "EH1 EH3 EH10"),
            _c("Bristol", "Bristol", "Europe/London", "117", "BS1 BS6 BS8"),
            _c("Liverpool", "Merseyside", "Europe/London", "151", "L1 L8 L17"),
            _c("Sheffield", "South Yorkshire", "Europe/London", "114", "S1 S10 S11"),
            _c("Cardiff", "Cardiff", "Europe/London", "29", "CF10 CF11 CF24"),
            _c("Newcastle upon Tyne", "Tyne and Wear", "Europe/London", "191", "NE1 NE2 NE6"),
            _c("Brighton", "East Sussex", "Europe/London", "1273", "BN1 BN2"),
            _c("Cambridge", "Cambridgeshire", "Europe/London", "1223", "CB1 CB2 CB4"),
        ),
    ),
    Country(
        "DE",
        "de_DE",
        "de",
        0.14,
        "EUR",
        Decimal("0.19"),
        11,
        ("151", "152", "157", "160", "170", "171", "172", "176", "177", "179"),
        ("gmail.example", "web.example", "gmx.example", "t-online.example", "posteo.example"),
        (
            _c("Berlin", "Berlin", "Europe/Berlin", "30", "10 12 13"),
            _c("Hamburg", "Hamburg", "Europe/Berlin", "40", "20 22"),
            _c("München", "Bayern", "Europe/Berlin", "89", "80 81"),
            _c("Köln", "Nordrhein-Westfalen", "Europe/Berlin", "221", "50 51"),
            _c("Frankfurt am Main", "Hessen", "Europe/Berlin", "69", "60"),
            _c("Stuttgart", "Baden-Württemberg", "Europe/Berlin", "711", "70"),
            _c("Düsseldorf", "Nordrhein-Westfalen", "Europe/Berlin", "211", "40"),
            _c("Leipzig", "Sachsen", "Europe/Berlin", "341", "04"),
            _c("Dresden", "Sachsen", "Europe/Berlin", "351", "01"),
            _c("Hannover", "Niedersachsen", "Europe/Berlin", "511", "30"),
            _c("Nürnberg", "Bayern", "Europe/Berlin", "911", "90"),
            _c("Bremen", "Bremen", "Europe/Berlin", "421", "28"),
            _c("Freiburg im Breisgau", "Baden-Württemberg", "Europe/Berlin", "761", "79"),
        ),
    ),
    Country(
        "FR",
        "fr_FR",
        "fr",
        0.13,
        "EUR",
        Decimal("0.20"),
        9,
        ("6", "7"),
        ("gmail.example", "orange.example", "free.example", "laposte.example", "sfr.example"),
        (
            _c("Paris", "Île-de-France", "Europe/Paris", "1", "75"),
            _c("Lyon", "Auvergne-Rhône-Alpes", "Europe/Paris", "4", "69"),
            _c("Marseille", "Provence-Alpes-Côte d'Azur", "Europe/Paris", "4", "13"),
            _c("Toulouse", "Occitanie", "Europe/Paris", "5", "31"),
            _c("Nice", "Provence-Alpes-Côte d'Azur", "Europe/Paris", "4", "06"),
            _c("Nantes", "Pays de la Loire", "Europe/Paris", "2", "44"),
            _c("Strasbourg", "Grand Est", "Europe/Paris", "3", "67"),
            _c("Bordeaux", "Nouvelle-Aquitaine", "Europe/Paris", "5", "33"),
            _c("Lille", "Hauts-de-France", "Europe/Paris", "3", "59"),
            _c("Rennes", "Bretagne", "Europe/Paris", "2", "35"),
            _c("Montpellier", "Occitanie", "Europe/Paris", "4", "34"),
        ),
    ),
    Country(
        "ES",
        "es_ES",
        "es",
        0.1,
        "EUR",
        Decimal("0.21"),
        9,
        ("6",),
        ("gmail.example", "hotmail.example", "yahoo.example", "telefonica.example"),
        (
            _c("Madrid", "Comunidad de Madrid", "Europe/Madrid", "91", "28"),
            _c("Barcelona", "Cataluña", "Europe/Madrid", "93", "08"),
            _c("Valencia", "Comunidad Valenciana", "Europe/Madrid", "96", "46"),
            _c("Sevilla", "Andalucía", "Europe/Madrid", "95", "41"),
            _c("Zaragoza", "Aragón", "Europe/Madrid", "976", "50"),
            _c("Málaga", "Andalucía", "Europe/Madrid", "95", "29"),
            _c("Bilbao", "País Vasco", "Europe/Madrid", "94", "48"),
            _c("Palma", "Islas Baleares", "Europe/Madrid", "971", "07"),
            _c("Las Palmas de Gran Canaria", "Canarias", "Atlantic/Canary", "928", "35"),
            _c("Granada", "Andalucía", "Europe/Madrid", "958", "18"),
        ),
    ),
    Country(
        "NL",
        "nl_NL",
        "nl",
        0.09,
        "EUR",
        Decimal("0.21"),
        9,
        ("6",),
        ("gmail.example", "ziggo.example", "kpnmail.example", "hotmail.example"),
        (
            _c("Amsterdam", "Noord-Holland", "Europe/Amsterdam", "20", "10"),
            _c("Rotterdam", "Zuid-Holland", "Europe/Amsterdam", "10", "30"),
            _c("Den Haag", "Zuid-Holland", "Europe/Amsterdam", "70", "25"),
            _c("Utrecht", "Utrecht", "Europe/Amsterdam", "30", "35"),
            _c("Eindhoven", "Noord-Brabant", "Europe/Amsterdam", "40", "56"),
            _c("Groningen", "Groningen", "Europe/Amsterdam", "50", "97"),
            _c("Tilburg", "Noord-Brabant", "Europe/Amsterdam", "13", "50"),
            _c("Haarlem", "Noord-Holland", "Europe/Amsterdam", "23", "20"),
            _c("Nijmegen", "Gelderland", "Europe/Amsterdam", "24", "65"),
        ),
    ),
)
COUNTRY_BY_CODE = {c.code: c for c in COUNTRIES}

# Rough currency conversion of USD list prices (rounded to .x9 in the generator).
FX = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}
