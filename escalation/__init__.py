"""Triage protocol engine, escalation triggers, summaries and the human queue."""
