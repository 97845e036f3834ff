"""Shared kernel: domain model, database, calendar service and practice directory."""
