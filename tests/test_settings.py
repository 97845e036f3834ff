"""Settings: defaults, environment overrides and validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from practice.settings import Settings

pytestmark = pytest.mark.unit


def test_defaults_bind_localhost_and_use_sqlite_under_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in ("DATABASE_URL", "PERMANENCE_HOST", "PERMANENCE_PORT", "PERMANENCE_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERMANENCE_DATA_DIR", str(tmp_path))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.timezone == "Europe/Paris"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'permanence.db'}"
    assert not settings.llm_configured


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/permanence")
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9999/v1")
    monkeypatch.setenv("LLM_MODEL", "some-model")
    monkeypatch.setenv("PERMANENCE_PORT", "9001")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.resolved_database_url == "postgresql://u@db/permanence"
    assert settings.llm_configured
    assert settings.port == 9001


@pytest.mark.parametrize(("name", "value"), [("PERMANENCE_TIMEZONE", "Mars/Olympus"), ("PERMANENCE_PORT", "0")])
def test_invalid_values_are_refused_with_the_setting_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name):
        Settings(_env_file=None)  # type: ignore[call-arg]
