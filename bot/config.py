"""Settings from the environment and `.env` (prefix `POLDER_`).

A missing or wrong setting stops the start with a message that names the variable and what
it should hold, never with a traceback.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
TELEGRAM_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

# What each setting should hold, for error messages and `polder settings`.
SETTINGS_HELP: dict[str, str] = {
    "database_url": "a database URL: sqlite:///polder.db or postgresql+psycopg://user@host/db",
    "timezone": "an IANA time zone name such as Europe/Amsterdam or Europe/Helsinki",
    "default_sectors": "comma-separated sector slugs (lowercase letters, digits, hyphens)",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "languages": "comma-separated language codes the bot answers in, from: {available}",
    "telegram_token": "the bot token BotFather gave, like 123456789:AA...",
    "telegram_api_url": "the Bot API base URL, ending in /bot",
    "telegram_file_url": "the Bot API file base URL, ending in /file/bot",
    "telegram_webhook_url": "the public https URL Telegram posts updates to, ending in "
    "/telegram/webhook",
    "telegram_webhook_secret": "1 to 256 characters: letters, digits, _ and -",
    "http_port": "a TCP port number, 1 to 65535",
    "slack_bot_token": "the app's Bot User OAuth Token, xoxb-...",
    "slack_app_token": "an app-level token with connections:write, xapp-...",
    "slack_signing_secret": "the app's Signing Secret (Basic Information page)",
    "slack_api_url": "the Web API base URL, ending in /api/",
    "scheduler_lease_seconds": "a number of seconds from 3 to 3600",
}


class SettingsError(ValueError):
    """A setting is missing or wrong; the message is meant for the person running Polder."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="POLDER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite:///polder.db"
    timezone: str = "Europe/Amsterdam"
    default_sectors: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["mobility", "energy", "circular-economy"]
    )
    log_level: str = "INFO"
    languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["en", "nl", "fi", "sv"]
    )
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    # On SQLite: how long the scheduler's lease lasts unrenewed, i.e. how soon another
    # process takes over the jobs from one that died (PostgreSQL notices at once).
    scheduler_lease_seconds: int = Field(default=15, ge=3, le=3600)
    # Messages older than this many days lose their text and author (a daily job).
    retention_days: int = Field(default=730, ge=1, le=36500)
    # Flood control: more than `flood_messages` from one member within `flood_seconds` and
    # they are asked to slow down (what they send meanwhile is not taken in).
    flood_messages: int = Field(default=20, ge=1, le=10000)
    flood_seconds: int = Field(default=60, ge=1, le=86400)
    # Where the console channel writes files meant for a member (/mydata).
    files_folder: Path = Path("polder-files")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_sectors", mode="before")
    @classmethod
    def _split_sectors(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            bad = [s for s in value if not SLUG.match(str(s))]
            if bad:
                raise ValueError(f"not a sector slug: {', '.join(map(str, bad))}")
        return value

    @field_validator("languages", mode="before")
    @classmethod
    def _known_languages(cls, value: object) -> object:
        from bot.i18n import available_languages

        if isinstance(value, str):
            value = [part.strip().lower() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            missing = [code for code in value if code not in available_languages()]
            if missing:
                raise ValueError(f"no catalog for {', '.join(map(str, missing))}")
            if not value:
                raise ValueError("no language given")
        return value

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is not None and not TELEGRAM_TOKEN.match(value.strip()):
            raise ValueError("not a Telegram bot token")
        return value.strip() if value else None

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_shape(cls, value: str | None) -> str | None:
        if value is not None and not WEBHOOK_SECRET.match(value):
            raise ValueError("not a usable webhook secret")
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("not an http(s) URL")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("not a bot token")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xapp-"):
            raise ValueError("not an app-level token")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError(f"unknown log level {value!r}")
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def telegram_webhook(self) -> bool:
        """A webhook when its URL is set (and then its secret must be too); else polling."""
        return self.telegram_webhook_url is not None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or a SettingsError naming each bad variable."""
    from bot.i18n import available_languages

    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            wanted = SETTINGS_HELP.get(field, "a valid value").format(
                available=", ".join(available_languages())
            )
            reason = error["msg"].removeprefix("Value error, ")
            lines.append(f"POLDER_{field.upper()}: {reason}; it should hold {wanted}")
        raise SettingsError("\n".join(lines)) from None
    if settings.slack_bot_token and not (settings.slack_app_token or settings.slack_signing_secret):
        raise SettingsError(
            "POLDER_SLACK_SIGNING_SECRET: missing; over HTTP Slack's requests are checked with "
            "it (or set POLDER_SLACK_APP_TOKEN for Socket Mode): it should hold "
            + SETTINGS_HELP["slack_signing_secret"]
        )
    if settings.telegram_webhook_url and not settings.telegram_webhook_secret:
        raise SettingsError(
            "POLDER_TELEGRAM_WEBHOOK_SECRET: missing; a webhook needs it, so that only Telegram "
            "can post updates: it should hold " + SETTINGS_HELP["telegram_webhook_secret"]
        )
    return settings
