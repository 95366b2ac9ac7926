"""Static reference data for the demo generator: places, products, names, texts.

The demo business is "Brightbean", a coffee roaster selling beans, brewing equipment and
office coffee plans to consumers and companies in six countries.

Every email and web domain ends in ``.example`` (reserved by RFC 2606), so demo data can
never reach a real mailbox or website. Phone numbers are random but valid numbers of the
right city, as real data would have them.

A package of data modules (each under ~500 lines); every name is re-exported here, so
``from patron.core.demo import catalog as cat`` and ``cat.COUNTRIES`` keep working.
"""

from __future__ import annotations

from patron.core.demo.catalog.business import (
    COMPANY_ROLES,
    COMPANY_SIZES,
    CONSUMER_JOBS,
    INDUSTRIES,
    JOB_TITLES,
    LEGAL_SUFFIXES,
    LIFECYCLE_PROSPECT,
    PRODUCTS,
    SHOP_HOST,
    SOURCES,
    TAGS,
    TEAM_AMERICAS,
    TEAM_EUROPE,
    USERS,
    WEB_SOURCES,
)
from patron.core.demo.catalog.names import (
    NICKNAMES,
)
from patron.core.demo.catalog.places import (
    COUNTRIES,
    COUNTRY_BY_CODE,
    FX,
    City,
    Country,
)
from patron.core.demo.catalog.texts import (
    COMPANY_NOTES,
    CONSENT_SOURCES,
    CSAT_COMMENTS,
    IOS_DEVICES,
    NOTES,
    NPS_COMMENTS,
    PAGES,
    REFERRERS,
    SCREENS,
    SEARCHES,
    TICKET_SUBJECTS,
    TICKET_SUBJECTS_LOCAL,
    TRADE_SHOWS,
    WEB_AGENTS,
    WEEKDAYS,
    WITHDRAW_SOURCES,
)

__all__ = [
    "COMPANY_NOTES",
    "COMPANY_ROLES",
    "COMPANY_SIZES",
    "CONSENT_SOURCES",
    "CONSUMER_JOBS",
    "COUNTRIES",
    "COUNTRY_BY_CODE",
    "CSAT_COMMENTS",
    "City",
    "Country",
    "FX",
    "INDUSTRIES",
    "IOS_DEVICES",
    "JOB_TITLES",
    "LEGAL_SUFFIXES",
    "LIFECYCLE_PROSPECT",
    "NICKNAMES",
    "NOTES",
    "NPS_COMMENTS",
    "PAGES",
    "PRODUCTS",
    "REFERRERS",
    "SCREENS",
    "SEARCHES",
    "SHOP_HOST",
    "SOURCES",
    "TAGS",
    "TEAM_AMERICAS",
    "TEAM_EUROPE",
    "TICKET_SUBJECTS",
    "TICKET_SUBJECTS_LOCAL",
    "TRADE_SHOWS",
    "USERS",
    "WEB_AGENTS",
    "WEB_SOURCES",
    "WEEKDAYS",
    "WITHDRAW_SOURCES",
]
