"""Client settings: arguments first, then environment variables, then defaults.

| setting | environment variable | default |
|---|---|---|
| account_sid | ``IMPACT_ACCOUNT_SID`` | (required) |
| auth_token | ``IMPACT_AUTH_TOKEN`` | (required) |
| base_url | ``CLICKKIT_BASE_URL`` | ``https://api.impact.com`` |
| cache_dir | ``CLICKKIT_CACHE_DIR`` | the platform's user cache dir + ``/clickkit`` |
| timezone | ``CLICKKIT_TIMEZONE`` | ``UTC`` (the account's time zone) |
| quota_timezone | ``CLICKKIT_QUOTA_TIMEZONE`` | ``UTC`` (when the daily quota resets) |
| settle_delay | ``CLICKKIT_SETTLE_HOURS`` (hours) | 3 hours (after midnight, a day is final) |
| daily_export_limit | ``CLICKKIT_DAILY_EXPORT_LIMIT`` | ``10`` |
| ir_version | ``CLICKKIT_IR_VERSION`` | ``16`` |
| max_days | ``CLICKKIT_MAX_DAYS`` | ``366`` (longest range one call accepts) |
| reserve | ``CLICKKIT_RESERVE`` | ``0`` (exports a day that backfills leave for others) |
| shared_cache | ``CLICKKIT_SHARED_CACHE`` | none (``s3://bucket/prefix`` for a team's cache) |

Every value is checked here, before anything is spent: a bad one raises
:class:`~clickkit.errors.ConfigurationError` naming the setting, the value (never the
token) and the fix.

Examples
--------
>>> resolve({"base_url": "api.impact.com"}, env={})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
clickkit.errors.ConfigurationError: base_url='api.impact.com' has no scheme; use https://api...
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import os
import re
import sys
import unicodedata
import urllib.parse
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
    "reserve": "CLICKKIT_RESERVE",
    "shared_cache": "CLICKKIT_SHARED_CACHE",
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
    "reserve": 0,
    "shared_cache": None,
}

#: Longest settle delay accepted; longer ones would mean no day is ever final (and
#: overflow date arithmetic near timedelta.max).
MAX_SETTLE = dt.timedelta(days=366)

_SID = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]+")


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
    #: Daily exports that backfills and syncs leave for interactive calls.
    reserve: int = 0
    #: ``s3://bucket/prefix`` where a team shares job records, day files and the quota.
    shared_cache: str | None = None


@dataclass(frozen=True)
class ClientOptions:
    """The client's own options (those without an environment variable), checked.

    How it waits for jobs, how often it may replay, what it shows; made once by
    :class:`~clickkit.Client` (see its parameters) and read by the
    :class:`~clickkit.loader.Loader` and the executor.

    Examples
    --------
    >>> ClientOptions(poll_interval=2.0).waiter_options()["poll_initial"]
    2.0
    """

    result_format: str = "CSV"
    progress: bool = True
    poll_interval: float = 1.0
    poll_max: float = 30.0
    wait_timeout: float | None = None
    min_refresh_interval: dt.timedelta = dt.timedelta(hours=1)
    max_failed_replays: int = 2
    max_replays_per_day: int = 3
    postback_safety_interval: float = 300.0

    def waiter_options(self) -> dict[str, float]:
        """Keyword arguments of :class:`clickkit.jobs.Waiter` (its polling schedule)."""
        return {
            "poll_initial": self.poll_interval,
            "poll_max": self.poll_max,
            "safety_interval": self.postback_safety_interval,
        }


def default_cache_dir() -> Path:
    """The platform's user cache directory for clickkit."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("clickkit", appauthor=False))


def _show(value: Any, limit: int = 80) -> str:
    """``repr(value)``, shortened so a pasted blob cannot flood a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but True seconds is never what anyone meant.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _fix(name: str, env_name: str | None = None) -> str:
    """The "how to set it" tail of a message: the argument and the environment variable."""
    env_name = env_name if env_name is not None else ENV.get(name)
    return f"pass {name}=" + (f" or set {env_name}" if env_name else "")


def check_timezone(name: str, setting: str = "timezone", label: str | None = None) -> str:
    """Return ``name`` if it is a known IANA time zone, else raise ConfigurationError.

    ``label`` is how the value was given (the argument or the environment variable);
    ``setting`` by default.

    Examples
    --------
    >>> check_timezone("Europe/Paris")
    'Europe/Paris'
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        fix = f" ({_fix(setting)})" if setting in ENV else ""
        raise ConfigurationError(
            f"{label or setting}={_show(name)} is not a known time zone; use an IANA name "
            f"such as 'America/New_York' or 'UTC'{fix}."
        ) from None
    return name


def check_base_url(value: Any, label: str = "base_url") -> str:
    """The API base URL without a trailing slash, or ConfigurationError saying what is wrong.

    ``label`` is how the value was given (``base_url`` or ``CLICKKIT_BASE_URL``).

    Examples
    --------
    >>> check_base_url("https://api.impact.com/")
    'https://api.impact.com'
    """
    fix = _fix("base_url")
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{label}={_show(value)} is not text; use a URL such as https://api.impact.com ({fix})."
        )
    text = value.strip()
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in text):
        raise ConfigurationError(
            f"{label}={_show(value)} contains a space, line break or control character; "
            f"use a URL such as https://api.impact.com ({fix})."
        )
    parts = urllib.parse.urlsplit(text)
    if parts.scheme == "" or "://" not in text:
        host = text.split("/", 1)[0] or "api.impact.com"
        raise ConfigurationError(
            f"{label}={_show(value)} has no scheme; use https://{host} ({fix})."
        )
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigurationError(
            f"{label}={_show(value)} uses {parts.scheme}://; only http:// and https:// "
            f"are supported, e.g. https://api.impact.com ({fix})."
        )
    if parts.username is not None or parts.password is not None:
        # The value is not echoed: it may hold a password.
        raise ConfigurationError(
            f"{label} contains a user name or password; remove it (credentials go in "
            f"account_sid= and auth_token=) ({fix})."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigurationError(
            f"{label}={_show(value)} has an invalid port; use a URL such as "
            f"https://api.impact.com or http://127.0.0.1:8080 ({fix})."
        ) from None
    if not parts.hostname:
        raise ConfigurationError(
            f"{label}={_show(value)} has no host; use a URL such as https://api.impact.com ({fix})."
        )
    if parts.query or parts.fragment or "?" in text or "#" in text:
        base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        raise ConfigurationError(
            f"{label}={_show(value)} has a query or fragment; the base URL is only scheme, "
            f"host and optional path: use {base.rstrip('/')} ({fix})."
        )
    return text.rstrip("/")


def check_settle_delay(value: Any) -> dt.timedelta:
    """A ``timedelta`` between 0 and :data:`MAX_SETTLE`, or ConfigurationError.

    Examples
    --------
    >>> check_settle_delay(dt.timedelta(hours=3))
    datetime.timedelta(seconds=10800)
    """
    fix = "pass settle_delay=datetime.timedelta(...) or set CLICKKIT_SETTLE_HOURS"
    if not isinstance(value, dt.timedelta):
        if _is_number(value) and math.isfinite(value) and value >= 0:
            hint = f"datetime.timedelta(hours={value!r}) if you meant {value!r} hours"
        else:
            hint = "datetime.timedelta(hours=3)"
        raise ConfigurationError(
            f"settle_delay={_show(value)} is not a datetime.timedelta; pass "
            f"settle_delay={hint}, or set CLICKKIT_SETTLE_HOURS to a number of hours."
        )
    if value < dt.timedelta(0):
        raise ConfigurationError(
            f"settle_delay={value} is negative; a day cannot be final before it ends. "
            f"Use timedelta(0) or more ({fix})."
        )
    if value > MAX_SETTLE:
        raise ConfigurationError(
            f"settle_delay={value} is longer than {MAX_SETTLE.days} days, so no day would "
            f"ever be final; use a few hours such as timedelta(hours=3) ({fix})."
        )
    return value


class _Sources:
    """Reads each setting from the arguments, the environment or the defaults, checked.

    One method per kind of value; each raises :class:`ConfigurationError` naming the
    setting (or its environment variable), the value and the fix.
    """

    def __init__(self, arguments: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.arguments = arguments
        self.env = env

    def pick(self, name: str) -> tuple[Any, str, bool]:
        """(value, label for messages, came from the environment)."""
        if self.arguments.get(name) is not None:
            return self.arguments[name], name, False
        if ENV[name] in self.env and self.env[ENV[name]] != "":
            return self.env[ENV[name]], ENV[name], True
        return DEFAULTS[name], name, False

    def count(self, name: str) -> int:
        """A whole number >= 1: an int argument, or decimal digits in the environment."""
        value, label, from_env = self.pick(name)
        fix = _fix(name)
        if from_env or isinstance(value, str):
            text = str(value).strip()
            if not _DIGITS.fullmatch(text):
                raise ConfigurationError(
                    f"{label}={_show(value)} is not a whole number; use digits such as "
                    f"{DEFAULTS[name]} ({fix})."
                )
            number = int(text)
        elif _is_int(value):
            number = int(value)
        else:
            raise ConfigurationError(
                f"{label}={_show(value)} is not a whole number; use an int such as "
                f"{DEFAULTS[name]} ({fix})."
            )
        if number < 1:
            raise ConfigurationError(
                f"{label}={_show(value)} must be at least 1; the default is "
                f"{DEFAULTS[name]} ({fix})."
            )
        return number

    def reserve(self) -> int:
        """A whole number >= 0 below the daily limit: 0 or more exports kept back."""
        value, label, from_env = self.pick("reserve")
        fix = _fix("reserve")
        if (from_env or isinstance(value, str)) and _DIGITS.fullmatch(str(value).strip()):
            number = int(str(value).strip())
        elif _is_int(value) and not from_env:
            number = int(value)
        else:
            raise ConfigurationError(
                f"{label}={_show(value)} is not a whole number of exports; use digits such as "
                f"2, or 0 to keep none back ({fix})."
            )
        if number < 0:
            raise ConfigurationError(
                f"{label}={_show(value)} is negative; use 0 or more exports ({fix})."
            )
        return number

    def settle_delay(self) -> dt.timedelta:
        if self.arguments.get("settle_delay") is not None:
            return check_settle_delay(self.arguments["settle_delay"])
        value, label, _ = self.pick("settle_hours")
        try:
            hours = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            hours = math.nan
        if not math.isfinite(hours) or hours < 0:
            raise ConfigurationError(
                f"{label}={_show(value)} is not a number of hours >= 0; use e.g. "
                "CLICKKIT_SETTLE_HOURS=3, or pass settle_delay=datetime.timedelta(hours=3)."
            )
        if hours > MAX_SETTLE.total_seconds() / 3600:
            raise ConfigurationError(
                f"{label}={_show(value)} is longer than {MAX_SETTLE.days} days, so no day "
                "would ever be final; use a few hours such as CLICKKIT_SETTLE_HOURS=3."
            )
        return dt.timedelta(hours=hours)

    def ir_version(self) -> str:
        value, label, _ = self.pick("ir_version")
        text = str(value).strip() if isinstance(value, str) or _is_int(value) else None
        if text is None or not _DIGITS.fullmatch(text):
            raise ConfigurationError(
                f"{label}={_show(value)} is not an API version number; use digits such as "
                f"'16' ({_fix('ir_version')})."
            )
        return text

    def zone(self, name: str) -> str:
        value, label, _ = self.pick(name)
        if not isinstance(value, str):
            value = getattr(value, "key", value)  # a ZoneInfo object names its zone
        return check_timezone(value if isinstance(value, str) else str(value), name, label)

    def cache_dir(self) -> Path:
        value, label, _ = self.pick("cache_dir")
        if not value:
            return default_cache_dir()
        if not isinstance(value, str | os.PathLike):
            raise ConfigurationError(
                f"{label}={_show(value)} is not a path; pass a folder such as "
                f"cache_dir='~/clickkit-cache' ({_fix('cache_dir')})."
            )
        return Path(value).expanduser()

    def shared_cache(self) -> str | None:
        value, label, _ = self.pick("shared_cache")
        if not value:
            return None
        if not isinstance(value, str) or not value.startswith("s3://"):
            raise ConfigurationError(
                f"{label}={_show(value)} is not an object storage URL; use "
                f"'s3://bucket/prefix' ({_fix('shared_cache')})."
            )
        return value


def resolve(arguments: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Resolve settings from ``arguments`` (``None`` = unset), the environment, defaults.

    Raises
    ------
    ConfigurationError
        A value is invalid; the message names the setting, the value and the fix.
    """
    sources = _Sources(arguments, os.environ if env is None else env)
    base_url, base_label, _ = sources.pick("base_url")
    settings = Settings(
        base_url=check_base_url(base_url, base_label),
        cache_dir=sources.cache_dir(),
        timezone=sources.zone("timezone"),
        quota_timezone=sources.zone("quota_timezone"),
        settle_delay=sources.settle_delay(),
        daily_export_limit=sources.count("daily_export_limit"),
        ir_version=sources.ir_version(),
        max_days=sources.count("max_days"),
        reserve=sources.reserve(),
        shared_cache=sources.shared_cache(),
    )
    if settings.reserve >= settings.daily_export_limit:
        limit, label = settings.daily_export_limit, sources.pick("reserve")[1]
        raise ConfigurationError(
            f"{label}={settings.reserve} keeps back all {limit} daily exports, "
            f"so a backfill or sync could never export a day; use a number below {limit} "
            f"({_fix('reserve')})."
        )
    return settings


def check_client_options(
    *,
    account_sid: Any,
    auth_token: Any,
    poll_interval: Any,
    poll_max: Any,
    wait_timeout: Any,
    min_refresh_interval: Any,
    max_failed_replays: Any,
    postback_safety_interval: Any,
    progress: Any,
    max_replays_per_day: Any = 3,
) -> None:
    """Check the client's own options; raise ConfigurationError for the first bad one.

    Messages never contain the auth token (and, in case the two were swapped, not the
    account SID either when it holds a character a SID cannot have).

    Examples
    --------
    >>> check_client_options(account_sid="IRabc123", auth_token="tok", poll_interval=1.0,
    ...     poll_max=30.0, wait_timeout=None, min_refresh_interval=dt.timedelta(hours=1),
    ...     max_failed_replays=2, postback_safety_interval=300.0, progress=True)
    >>> check_client_options(account_sid="IRabc123", auth_token="tok", poll_interval=0,
    ...     poll_max=30.0, wait_timeout=None, min_refresh_interval=dt.timedelta(hours=1),
    ...     max_failed_replays=2, postback_safety_interval=300.0, progress=True)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clickkit.errors.ConfigurationError: poll_interval=0 must be a positive number of seconds...
    """
    _check_account_sid(account_sid)
    _check_auth_token(auth_token)

    if not (_is_number(poll_interval) and math.isfinite(poll_interval)):
        raise ConfigurationError(
            f"poll_interval={_show(poll_interval)} is not a number of seconds; pass a "
            "positive number such as poll_interval=1.0."
        )
    if poll_interval <= 0:
        raise ConfigurationError(
            f"poll_interval={poll_interval!r} must be a positive number of seconds such as "
            "1.0; 0 would poll a 2 s job about 1,000 times."
        )
    if not (_is_number(poll_max) and not math.isnan(poll_max)):  # inf: no cap
        raise ConfigurationError(
            f"poll_max={_show(poll_max)} must be a number of seconds such as 30.0 (the "
            "longest pause between two status checks; math.inf for no cap)."
        )
    if poll_max < poll_interval:
        raise ConfigurationError(
            f"poll_max={poll_max!r} is less than poll_interval={poll_interval!r}; the pause "
            "between polls grows from poll_interval up to poll_max, so raise poll_max or "
            "lower poll_interval."
        )
    if wait_timeout is not None and not (
        _is_number(wait_timeout) and not math.isnan(wait_timeout) and wait_timeout > 0
    ):
        raise ConfigurationError(
            f"wait_timeout={_show(wait_timeout)} must be a positive number of seconds, or "
            "None to wait for jobs without a limit."
        )
    if not isinstance(min_refresh_interval, dt.timedelta) or min_refresh_interval < dt.timedelta(0):
        raise ConfigurationError(
            f"min_refresh_interval={_show(min_refresh_interval)} must be a "
            "datetime.timedelta >= 0, such as timedelta(hours=1)."
        )
    if not _is_int(max_failed_replays) or max_failed_replays < 0:
        raise ConfigurationError(
            f"max_failed_replays={_show(max_failed_replays)} must be a whole number >= 0, "
            "such as 2 (0 never replays a FAILED or CANCELLED job)."
        )
    if not _is_int(max_replays_per_day) or max_replays_per_day < 1:
        raise ConfigurationError(
            f"max_replays_per_day={_show(max_replays_per_day)} must be a whole number of at "
            "least 1 (impact.com asks for few replays a day; the default is 3)."
        )
    if not (
        _is_number(postback_safety_interval)
        and math.isfinite(postback_safety_interval)
        and postback_safety_interval > 0
    ):
        raise ConfigurationError(
            f"postback_safety_interval={_show(postback_safety_interval)} must be a positive "
            "number of seconds such as 300.0 (how often to poll when a postback is late)."
        )
    numpy = sys.modules.get("numpy")  # a numpy bool implies numpy; none imported here
    if not (
        isinstance(progress, bool) or (numpy is not None and isinstance(progress, numpy.bool_))
    ):
        raise ConfigurationError(f"progress={_show(progress)} must be True or False.")


def _missing(value: Any) -> str:
    """How an absent or non-text credential is described (never its value)."""
    if value is None:
        return "missing"
    return "empty" if value == "" else f"a {type(value).__name__}, not text"


def _check_account_sid(value: Any) -> None:
    fix = "pass account_sid= or set IMPACT_ACCOUNT_SID"
    if not isinstance(value, str) or not value:
        shown = _missing(value)
        raise ConfigurationError(
            f"account_sid is {shown}; copy the Account SID from impact.com "
            f"(Settings > API), e.g. 'IRabc123' ({fix})."
        )
    if not _SID.fullmatch(value):
        # Name the character, not the value: a token pasted as the SID must not be echoed.
        position, char = next((i, c) for i, c in enumerate(value) if not _SID.fullmatch(c))
        raise ConfigurationError(
            f"account_sid has {char!r} at position {position + 1} of {len(value)}; an "
            "impact.com Account SID holds only letters, digits, '-' and '_' (e.g. "
            f"'IRabc123'). Check for a stray space or quote ({fix})."
        )


def _check_auth_token(value: Any) -> None:
    fix = "pass auth_token= or set IMPACT_AUTH_TOKEN"
    if not isinstance(value, str) or not value:
        shown = _missing(value)
        raise ConfigurationError(
            f"the auth token is {shown}; copy it from impact.com (Settings > API) ({fix})."
        )
    try:
        value.encode("latin-1")
        bad = any(unicodedata.category(ch) == "Cc" for ch in value)
    except UnicodeEncodeError:
        bad = True
    if bad:
        # Never echo the token, not even a part of it.
        raise ConfigurationError(
            "the auth token contains a character HTTP Basic auth cannot carry (non-latin-1 "
            f"or a line break); copy it again from impact.com ({fix})."
        )
