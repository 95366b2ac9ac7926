"""Outbound webhooks: signed, SSRF-safe, retried deliveries from a transactional outbox."""
