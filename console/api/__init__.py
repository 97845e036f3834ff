"""JSON API routes of the console (documented in OpenAPI at /docs)."""
