"""Named sets of sandbox options: every open behaviour of impact.com at once.

:data:`PROFILES` maps a profile name to :class:`~clickkit.sandbox.Sandbox` keyword
arguments. ``Sandbox(profile="pessimistic")`` turns on every variant that is harder for a
client; ``"documented"`` is the most optimistic reading of impact.com's documentation.
Keywords given explicitly win over the profile.

Examples
--------
>>> resolve_options("pessimistic", {"page_size": 5})["page_size"]
5
>>> resolve_options("pessimistic", {})["rate_limit_body"]
'kong'
>>> resolve_options(None, {"seed": 1})
{'seed': 1}
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

__all__ = ["PROFILES", "resolve_options"]

PROFILES: dict[str, dict[str, Any]] = {
    "pessimistic": {
        "failed_exports_count": True,
        "replay_lag": timedelta(seconds=3),
        "failed_download": "202",
        "page_size": 100,
        "compress_storage": True,
        "csv_true": "Y",
        "csv_false": "N",
        "event_date_style": "naive",
        "money_style": "dollar",
        "csv_bom": True,
        "line_ending": "\n",
        "extra_columns": True,
        "missing_columns": ("SubId3",),
        "string_fields": True,
        "json_flat": True,
        "auth_before_rate_limit": True,
        "rate_limit_body": "kong",
        "timezone": "America/New_York",
    },
    "documented": {
        "failed_exports_count": False,
        "replay_lag": timedelta(0),
        "failed_download": "409",
        "page_size": None,
        "compress_storage": False,
        "csv_true": "true",
        "csv_false": "false",
        "event_date_style": "offset",
        "money_style": "plain",
        "csv_bom": False,
        "line_ending": "\r\n",
        "extra_columns": False,
        "missing_columns": (),
        "string_fields": True,
        "json_flat": False,
        "auth_before_rate_limit": True,
        "rate_limit_body": "impact",
    },
}


def resolve_options(profile: str | None, explicit: dict[str, Any]) -> dict[str, Any]:
    """The profile's options updated with the ones given explicitly.

    Raises
    ------
    ValueError
        For an unknown profile name.
    """
    if profile is None:
        return dict(explicit)
    if profile not in PROFILES:
        raise ValueError(f"unknown sandbox profile {profile!r}; use one of {', '.join(PROFILES)}")
    return {**PROFILES[profile], **explicit}
