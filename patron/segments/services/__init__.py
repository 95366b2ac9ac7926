"""Segment services: definitions (create/update/delete), membership, time triggers."""
