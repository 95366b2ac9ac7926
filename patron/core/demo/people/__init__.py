"""Generated people and companies, and realistic duplicates of people.

Everything goes through the entry-point normalisers (``patron.contacts.normalize``), as
real input would: raw phones in mixed national formats become E.164, emails get a
lower-cased domain. Duplicates are made from the *raw* input a second entry point
would have seen (a nickname, a typo, swapped name order, another phone format...).

A package (the module passed 500 lines): ``base`` (helpers, records, the factory's state),
``records`` (places, numbers, emails, companies, people), ``duplicates`` (look-alikes).
"""

from __future__ import annotations

from patron.core.demo.people.base import CompanySpec, Person, ascii_fold, email_key, weighted
from patron.core.demo.people.duplicates import DuplicateMaker


class PeopleFactory(DuplicateMaker):
    """Makes the demo's people and companies, and duplicates of people."""


__all__ = ["CompanySpec", "PeopleFactory", "Person", "ascii_fold", "email_key", "weighted"]
