"""Patron: the open-source customer database platform."""

__version__ = "0.1.0"
