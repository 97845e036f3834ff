"""Process settings read from the environment (one instance per process, built by the composition root)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """Where the embedded default keeps its SQLite file and model cache."""
    return Path.home() / ".local" / "share" / "permanence"


class Settings(BaseSettings):
    """Every setting of a Permanence process; see the README's settings table."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, alias="PERMANENCE_DATA_DIR")
    database_url: str = Field(default="", alias="DATABASE_URL")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", alias="REDIS_URL")
    llm_base_url: str = Field(default="", alias="LLM_BASE_URL")
    llm_api_key: str = Field(default="", alias="LLM_API_KEY")
    llm_model: str = Field(default="", alias="LLM_MODEL")
    whisper_model: str = Field(default="", alias="WHISPER_MODEL")
    piper_voice: str = Field(default="", alias="PIPER_VOICE")
    timezone: str = Field(default="Europe/Paris", alias="PERMANENCE_TIMEZONE")
    host: str = Field(default="127.0.0.1", alias="PERMANENCE_HOST")
    port: int = Field(default=8000, ge=1, le=65535, alias="PERMANENCE_PORT")
    secret_key: str = Field(default="", alias="PERMANENCE_SECRET_KEY")
    demo_mode: bool = Field(default=False, alias="PERMANENCE_DEMO")
    media_stream_token: str = Field(default="", alias="MEDIA_STREAM_TOKEN")  # the carrier's start.customParameters
    livekit_url: str = Field(default="", alias="LIVEKIT_URL")
    livekit_api_key: str = Field(default="", alias="LIVEKIT_API_KEY")
    livekit_api_secret: str = Field(default="", alias="LIVEKIT_API_SECRET")
    worker_port: int = Field(default=8081, ge=1, le=65535, alias="PERMANENCE_WORKER_PORT")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (expected an IANA name such as Europe/Paris)") from exc
        return value

    @property
    def resolved_database_url(self) -> str:
        """DATABASE_URL, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'permanence.db'}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def livekit_configured(self) -> bool:
        return bool(self.livekit_url and self.livekit_api_key and self.livekit_api_secret)

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)
