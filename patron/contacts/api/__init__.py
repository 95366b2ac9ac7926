"""The contacts app's JSON API: /contacts, /companies and /notes (see patron.core.api_base)."""

from __future__ import annotations

from patron.contacts.api.companies import router as companies_router
from patron.contacts.api.contacts import router as contacts_router
from patron.contacts.api.notes import router as notes_router

ROUTERS = [
    ("/contacts", contacts_router),
    ("/companies", companies_router),
    ("/notes", notes_router),
]
