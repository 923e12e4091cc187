"""Fault injection for resilience tests: errors, drops, stalls, truncation and more.

Endpoint names are the keys of ``Sandbox.stats()["requests"]``: ``ClickExport``, ``Job``,
``JobList``, ``Download``, ``Replay`` and ``Storage`` (the signed-URL host); ``"*"``
stands for all of them.

Examples
--------
>>> f = Faults(error_rate={"Job": 0.5}, truncate_downloads=True)
>>> f.rate("error_rate", "Job"), f.rate("error_rate", "Download")
(0.5, 0.0)
>>> coerce_faults({"hourly_429": True}).hourly_429
True
>>> FaultInjector(Faults(short_downloads=True), seed=0).download_fault()
'short'
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

__all__ = ["ENDPOINTS", "FaultInjector", "Faults", "coerce_faults"]

ENDPOINTS = ("ClickExport", "Job", "JobList", "Download", "Storage", "Replay")
PostbackMode = Literal["normal", "late", "twice", "never"]


@dataclass(frozen=True)
class Faults:
    """Which failures the sandbox injects.

    Parameters
    ----------
    error_rate : dict of str to float
        Per endpoint, the share of calls answered 500, 502 or 503.
    drop_rate : dict of str to float
        Per endpoint, the share of calls whose connection is closed without an answer.
    stall : dict of str to float
        Per endpoint, seconds (real time) to sleep before answering.
    truncate_downloads : bool or float
        Result files (storage host and ``Mode=Stream``) announce their full
        ``Content-Length`` but send only half the body: always if True, else for this
        share of downloads.
    expire_signed_urls : bool
        Signed URLs in ``Location`` headers are already expired.
    postback_mode : {"normal", "late", "twice", "never"}
        ``late`` sends after ``postback_delay`` seconds; ``twice`` sends every postback twice.
    postback_delay : float
        Seconds of delay for ``postback_mode="late"``.
    hourly_429 : bool
        Every API call is refused with 429 as if the hourly limit were spent.
    lose_export_answer : bool or float
        ClickExport creates the job (or finds the duplicate) and spends the quota, then the
        connection is closed without an answer: always if True, else for this share of calls.
    empty_downloads : bool or float
        Result files (storage host and ``Mode=Stream``) come as a 200 with an empty body
        and no ``Content-Length``: always if True, else for this share of downloads.
    short_downloads : bool or float
        Result files are cut after a complete row (CSV line, JSON/XML record) and sent
        without ``Content-Length`` (chunked), the response ending normally: always if True,
        else for this share of downloads.
    """

    error_rate: dict[str, float] = field(default_factory=dict)
    drop_rate: dict[str, float] = field(default_factory=dict)
    stall: dict[str, float] = field(default_factory=dict)
    truncate_downloads: bool | float = False
    expire_signed_urls: bool = False
    postback_mode: PostbackMode = "normal"
    postback_delay: float = 2.0
    hourly_429: bool = False
    lose_export_answer: bool | float = False
    empty_downloads: bool | float = False
    short_downloads: bool | float = False

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "stall"):
            for endpoint in getattr(self, name):
                if endpoint != "*" and endpoint not in ENDPOINTS:
                    raise ValueError(
                        f"unknown endpoint {endpoint!r} in {name}; use one of "
                        f"{', '.join(ENDPOINTS)} or '*'"
                    )
        if self.postback_mode not in ("normal", "late", "twice", "never"):
            raise ValueError(f"unknown postback_mode {self.postback_mode!r}")

    def rate(self, kind: str, endpoint: str) -> float:
        """The configured value of ``kind`` for ``endpoint`` (0 when unset)."""
        table: dict[str, float] = getattr(self, kind)
        return float(table.get(endpoint, table.get("*", 0.0)))


def coerce_faults(value: Faults | dict[str, Any] | None, base: Faults | None = None) -> Faults:
    """Build a :class:`Faults` from a dataclass, a dict of its fields, or None.

    A dict updates ``base`` (default: no faults), so ``{"hourly_429": True}`` keeps the
    other settings.
    """
    if isinstance(value, Faults):
        return value
    base = base or Faults()
    if value is None:
        return base
    known = {f.name for f in fields(Faults)}
    unknown = set(value) - known
    if unknown:
        raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
    return replace(base, **value)


class FaultInjector:
    """Seeded decisions for the current :class:`Faults` (thread-safe)."""

    def __init__(self, faults: Faults, seed: int) -> None:
        self.faults = faults
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _roll(self, share: float) -> bool:
        if share <= 0:
            return False
        with self._lock:
            return self._rng.random() < share

    def error_status(self, endpoint: str) -> int | None:
        """A 5xx status to answer with, or None."""
        if not self._roll(self.faults.rate("error_rate", endpoint)):
            return None
        with self._lock:
            return self._rng.choice((500, 502, 503))

    def drop(self, endpoint: str) -> bool:
        """Whether to close this call's connection without answering."""
        return self._roll(self.faults.rate("drop_rate", endpoint))

    def stall(self, endpoint: str) -> float:
        """Seconds to sleep before answering."""
        return self.faults.rate("stall", endpoint)

    def _fires(self, value: bool | float) -> bool:
        return value is True or (value is not False and self._roll(float(value)))

    def truncate(self) -> bool:
        """Whether to cut this download short under its full ``Content-Length``."""
        return self._fires(self.faults.truncate_downloads)

    def lose_export_answer(self) -> bool:
        """Whether to drop the connection after a ClickExport has taken effect."""
        return self._fires(self.faults.lose_export_answer)

    def download_fault(self) -> str | None:
        """The fault of this result download: "truncate", "empty", "short" or None."""
        if self.truncate():
            return "truncate"
        if self._fires(self.faults.empty_downloads):
            return "empty"
        if self._fires(self.faults.short_downloads):
            return "short"
        return None
