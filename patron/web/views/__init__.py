"""HTML views of the web UI, one module per area (see patron/web/urls.py)."""
