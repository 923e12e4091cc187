"""Constants and small helpers the test modules share (fixtures live in conftest.py)."""

from __future__ import annotations

import datetime as dt

import clickkit as ck

#: A fixed start for the sandbox clock (it then runs in real time): a Friday noon UTC.
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def exports(client: ck.Client) -> int:
    """ClickExport calls the sandbox has answered."""
    return client.sandbox_server.stats()["requests"].get("ClickExport", 0)
