"""FastAPI web app for tele-secretaries and managers, the call gateway and the `permanence` CLI."""
