"""Client settings: arguments first, then environment variables, then defaults.

| setting | environment variable | default |
|---|---|---|
| account_sid | ``IMPACT_ACCOUNT_SID`` | (required) |
| auth_token | ``IMPACT_AUTH_TOKEN`` | (required) |
| base_url | ``CLICKKIT_BASE_URL`` | ``https://api.impact.com`` |
| cache_dir | ``CLICKKIT_CACHE_DIR`` | the platform's user cache dir + ``/clickkit`` |
| timezone | ``CLICKKIT_TIMEZONE`` | ``UTC`` (the account's time zone) |
| quota_timezone | ``CLICKKIT_QUOTA_TIMEZONE`` | ``UTC`` (when the daily quota resets) |
| settle_hours | ``CLICKKIT_SETTLE_HOURS`` | ``3`` (hours after midnight a day is final) |
| daily_export_limit | ``CLICKKIT_DAILY_EXPORT_LIMIT`` | ``10`` |
| ir_version | ``CLICKKIT_IR_VERSION`` | ``16`` |
| max_days | ``CLICKKIT_MAX_DAYS`` | ``366`` (longest range one call accepts) |
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clickkit.errors import ConfigurationError

ENV = {
    "account_sid": "IMPACT_ACCOUNT_SID",
    "auth_token": "IMPACT_AUTH_TOKEN",
    "base_url": "CLICKKIT_BASE_URL",
    "cache_dir": "CLICKKIT_CACHE_DIR",
    "timezone": "CLICKKIT_TIMEZONE",
    "quota_timezone": "CLICKKIT_QUOTA_TIMEZONE",
    "settle_hours": "CLICKKIT_SETTLE_HOURS",
    "daily_export_limit": "CLICKKIT_DAILY_EXPORT_LIMIT",
    "ir_version": "CLICKKIT_IR_VERSION",
    "max_days": "CLICKKIT_MAX_DAYS",
}

DEFAULTS: dict[str, Any] = {
    "base_url": "https://api.impact.com",
    "cache_dir": None,
    "timezone": "UTC",
    "quota_timezone": "UTC",
    "settle_hours": 3.0,
    "daily_export_limit": 10,
    "ir_version": "16",
    "max_days": 366,
}


@dataclass(frozen=True)
class Settings:
    """Resolved client settings (never printed with the token)."""

    base_url: str
    cache_dir: Path
    timezone: str
    quota_timezone: str
    settle_delay: dt.timedelta
    daily_export_limit: int
    ir_version: str
    max_days: int


def default_cache_dir() -> Path:
    """The platform's user cache directory for clickkit."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("clickkit", appauthor=False))


def check_timezone(name: str, setting: str = "timezone") -> str:
    """Return ``name`` if it is a known IANA time zone, else raise ConfigurationError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{setting}={name!r} is not a known time zone; use an IANA name such as "
            "'America/New_York' or 'UTC'."
        ) from None
    return name


def resolve(arguments: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Resolve settings from ``arguments`` (``None`` = unset), the environment, defaults."""
    env = os.environ if env is None else env

    def pick(name: str) -> Any:
        if arguments.get(name) is not None:
            return arguments[name]
        if ENV[name] in env and env[ENV[name]] != "":
            return env[ENV[name]]
        return DEFAULTS[name]

    def number(name: str, kind: type) -> Any:
        value = pick(name)
        try:
            result = kind(value)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"{name}={value!r} is not a number; set {ENV[name]} or pass {name}= correctly."
            ) from None
        if result < 0:
            raise ConfigurationError(f"{name} must not be negative (got {value!r}).")
        return result

    cache_dir = pick("cache_dir")
    settle = arguments.get("settle_delay")
    if settle is None:
        settle = dt.timedelta(hours=number("settle_hours", float))
    return Settings(
        base_url=str(pick("base_url")).rstrip("/"),
        cache_dir=Path(cache_dir).expanduser() if cache_dir else default_cache_dir(),
        timezone=check_timezone(str(pick("timezone"))),
        quota_timezone=check_timezone(str(pick("quota_timezone")), "quota_timezone"),
        settle_delay=settle,
        daily_export_limit=number("daily_export_limit", int),
        ir_version=str(pick("ir_version")),
        max_days=max(1, number("max_days", int)),
    )
