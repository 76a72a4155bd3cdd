"""Settings from the environment and `.env` (prefix `POLDER_`).

A missing or wrong setting stops the start with a message that names the variable and what
it should hold, never with a traceback.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

# What each setting should hold, for error messages and `polder settings`.
SETTINGS_HELP: dict[str, str] = {
    "database_url": "a database URL: sqlite:///polder.db or postgresql+psycopg://user@host/db",
    "timezone": "an IANA time zone name such as Europe/Amsterdam or Europe/Helsinki",
    "default_sectors": "comma-separated sector slugs (lowercase letters, digits, hyphens)",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "languages": "comma-separated language codes the bot answers in, from: {available}",
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


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or a SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            from bot.i18n import available_languages

            wanted = SETTINGS_HELP.get(field, "a valid value").format(
                available=", ".join(available_languages())
            )
            reason = error["msg"].removeprefix("Value error, ")
            lines.append(f"POLDER_{field.upper()}: {reason}; it should hold {wanted}")
        raise SettingsError("\n".join(lines)) from None
