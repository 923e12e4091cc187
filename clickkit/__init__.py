"""clickkit: impact.com click exports as typed pandas DataFrames.

Planned, cached and resumable exports behind one call, plus plots and notebook widgets.

Examples
--------
>>> import clickkit as ck
>>> client = ck.Client.sandbox()                      # doctest: +SKIP
>>> df = client.clicks("2026-10-01", "2026-10-07")    # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from clickkit._version import __version__
from clickkit.errors import (
    ApiError,
    AuthenticationError,
    CacheError,
    ClickkitError,
    ConfigurationError,
    DownloadError,
    ExportOutcomeUnknown,
    InvalidRequestError,
    JobFailed,
    JobLost,
    MissingDependency,
    NotFoundError,
    NotReplayableError,
    ParseError,
    ProvisionalDataWarning,
    QuotaExhausted,
    RateLimited,
    RefreshRefused,
    ServerError,
    TimezoneMismatchWarning,
    ValidationError,
    WaitTimeout,
)

# Heavy libraries (pandas, pyarrow, matplotlib, ipywidgets) load on first use, so
# `import clickkit` stays fast.
_LAZY = {
    "Client": "clickkit.client",
    "BackfillReport": "clickkit.backfill",
    "Plan": "clickkit.plan",
    "load_export": "clickkit.frames",
    "ParseWarning": "clickkit.schema",
    "plots": "clickkit.plots",
    "widgets": "clickkit.widgets",
    "schema": "clickkit.schema",
}

if TYPE_CHECKING:
    from clickkit import plots, schema, widgets
    from clickkit.backfill import BackfillReport
    from clickkit.client import Client
    from clickkit.frames import load_export
    from clickkit.plan import Plan
    from clickkit.schema import ParseWarning


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'clickkit' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith(name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "ApiError",
    "AuthenticationError",
    "BackfillReport",
    "CacheError",
    "ClickkitError",
    "Client",
    "ConfigurationError",
    "DownloadError",
    "ExportOutcomeUnknown",
    "InvalidRequestError",
    "JobFailed",
    "JobLost",
    "MissingDependency",
    "NotFoundError",
    "NotReplayableError",
    "ParseError",
    "ParseWarning",
    "Plan",
    "ProvisionalDataWarning",
    "QuotaExhausted",
    "RateLimited",
    "RefreshRefused",
    "ServerError",
    "TimezoneMismatchWarning",
    "ValidationError",
    "WaitTimeout",
    "__version__",
    "load_export",
    "plots",
    "schema",
    "widgets",
]
