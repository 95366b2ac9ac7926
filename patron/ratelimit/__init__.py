"""Request counters shared by every process and server (fixed windows in the database).

See docs/adr/0070-shared-rate-limit-counters.md.
"""
