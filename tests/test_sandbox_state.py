"""A persisted sandbox account: one process serves it at a time, none erases another's work."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sandbox_http import SandboxHttp

from clickkit.sandbox.state import (
    STATE_FILE,
    StateBusy,
    StateConflict,
    advance_state,
    open_sandbox,
    read_state,
)

NOW = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)


def test_a_second_process_waits_for_the_account_instead_of_erasing_its_exports(
    tmp_path: Path,
) -> None:
    state = tmp_path / STATE_FILE
    first = open_sandbox(state, now=NOW, seed=1)
    try:
        SandboxHttp(first).submit("2026-11-20")
        # Restoring now and saving later would erase this job and the export it spent.
        with pytest.raises(StateBusy, match=r"in use by process \d+"):
            open_sandbox(state, now=NOW, seed=1, wait=0.2)
        with pytest.raises(StateBusy):
            advance_state(state, dt.timedelta(hours=1), wait=0.2)
    finally:
        first.close()
    second = open_sandbox(state, now=NOW, seed=1, wait=0.2)  # free once the first closed
    try:
        assert len(second.jobs()) == 1
        SandboxHttp(second).submit("2026-11-21")
    finally:
        second.close()
    stored = read_state(state)
    assert stored is not None and len(stored["engine"]["jobs"]) == 2
    advance_state(state, dt.timedelta(hours=1), wait=0.2)


def test_options_that_differ_are_refused_at_once_even_while_the_account_is_busy(
    tmp_path: Path,
) -> None:
    state = tmp_path / STATE_FILE
    with (
        open_sandbox(state, now=NOW, seed=1),
        pytest.raises(StateConflict, match=r"seed=2 \(remembered: 1\)"),
    ):
        open_sandbox(state, now=NOW, seed=2, wait=30)
