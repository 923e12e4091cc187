"""Shared fixtures: clients wired to a fresh sandbox over real loopback HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import NOW

import clickkit as ck
from clickkit.sandbox import Sandbox


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never use a developer's real account.
    for name in ("IMPACT_ACCOUNT_SID", "IMPACT_AUTH_TOKEN", "CLICKKIT_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., ck.Client]]:
    """Build ``Client.sandbox()`` clients with fast, deterministic test defaults."""
    clients: list[ck.Client] = []

    def make(**options: Any) -> ck.Client:
        options.setdefault("cache_dir", tmp_path / "cache")
        options.setdefault("now", NOW)
        options.setdefault("seed", 1)
        # The account lives outside UTC, as most do: offsets and day edges are exercised.
        options.setdefault("timezone", "America/New_York")
        options.setdefault("clicks_per_day", 300)
        options.setdefault("job_duration", dt.timedelta(0))
        options.setdefault("progress", False)
        options.setdefault("poll_interval", 0.02)
        options.setdefault("poll_max", 0.2)
        client = ck.Client.sandbox(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Build sandboxes on a frozen clock (Friday 2026-11-27 09:00 UTC, 10 s jobs)."""
    made: list[Sandbox] = []

    def build(**options: Any) -> Sandbox:
        options = {
            "now": dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC),
            "frozen": True,
            "seed": 7,
            "clicks_per_day": 300,
            "job_duration": dt.timedelta(seconds=10),
            **options,
        }
        made.append(Sandbox(**options))
        return made[-1]

    yield build
    for sb in made:
        sb.close()
