"""A sandbox account that lives on between processes, in one JSON file.

``clickkit ... --sandbox`` starts a new in-process server on each command while the cache
it serves stays on disk. To make a sequence of commands behave like one account, the
sandbox's state is kept beside that cache (``<cache_dir>/sandbox-state.json``): its
options (seed, time zone, limits...), every job with its runs, the quota and hourly
counters, the statistics and the clock's offset from real time. Results are not stored:
they are regenerated deterministically from the seed, a job's parameters and the end of
each run. The file is rewritten atomically after every change (a new job, a replay, a
spent export) and when the sandbox closes. The auth token is not stored: a restored
sandbox gets a new one, which only its own process knows.

One process at a time serves a stored account: a second one would restore the same
state, and whichever saved last would erase the other's jobs and spent exports (the
account would seem to have quota it spent). :func:`open_sandbox` therefore holds an OS
lock on ``<state>.lock`` until the sandbox closes; another process waits a little for it,
then gets :class:`StateBusy` naming the holder. The OS releases the lock of a process
that dies.

Examples
--------
>>> from pathlib import Path
>>> sb = open_sandbox(Path(tmp) / STATE_FILE, seed=3)  # doctest: +SKIP
>>> sb.close()  # doctest: +SKIP
>>> advance_state(Path(tmp) / STATE_FILE, timedelta(hours=30))  # doctest: +SKIP
datetime.datetime(2026, 11, 29, 6, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clickkit.sandbox.engine import Settings
from clickkit.sandbox.server import Sandbox

__all__ = [
    "STATE_FILE",
    "StateBusy",
    "StateConflict",
    "advance_state",
    "open_sandbox",
    "read_state",
    "save_state",
]

#: The file name of a persisted sandbox, in the cache directory it serves.
STATE_FILE = "sandbox-state.json"
_VERSION = 1
# Settings held as timedelta (stored as seconds).
_DURATIONS = frozenset(f.name for f in dataclasses.fields(Settings) if "timedelta" in str(f.type))
# Not options of the account: the token is per process, outcomes live in the engine.
_NOT_STORED = frozenset({"auth_token", "outcomes"})


class StateConflict(ValueError):
    """The options given differ from those the remembered sandbox was made with."""


class StateBusy(ValueError):
    """Another process is serving the stored sandbox account right now."""


#: Seconds :func:`open_sandbox` waits for another process to let go of the state.
WAIT_FOR_STATE = 30.0


class _StateLock:
    """An exclusive OS lock on ``<state>.lock``, naming its holder's pid in the file.

    ``flock`` (not a lock file that merely exists) so that a killed holder never leaves
    the account locked. Where there is no ``fcntl`` (Windows) it does nothing.
    """

    def __init__(self, state: Path, wait: float) -> None:
        self.path = state.with_name(state.name + ".lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held open)
        try:
            self._acquire(state, wait)
        except BaseException:
            self._handle.close()
            raise

    def _acquire(self, state: Path, wait: float) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover (Windows)
            return
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._handle.seek(0)
                    holder = self._handle.read().strip() or "another process"
                    raise StateBusy(
                        f"the sandbox account stored in {state} is in use by {holder} (a "
                        "clickkit command or a client made with persist=True). Close that "
                        "client or let the command finish, then try again; or use another "
                        "cache directory."
                    ) from None
                time.sleep(0.05)
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(f"process {os.getpid()}")
        self._handle.flush()

    def release(self) -> None:
        """Let the next process in (idempotent)."""
        if not self._handle.closed:
            self._handle.close()  # closing the file releases the flock


def _encode(name: str, value: Any) -> Any:
    if name in _DURATIONS and value is not None:
        return value.total_seconds()
    if isinstance(value, tuple):
        return list(value)
    return value


def _decode(name: str, value: Any) -> Any:
    if name in _DURATIONS and value is not None:
        return timedelta(seconds=value)
    if name == "missing_columns":
        return tuple(value)
    return value


def snapshot(sandbox: Sandbox) -> dict[str, Any]:
    """The sandbox's state as a JSON-able dict (no auth token)."""
    settings = sandbox.settings
    now = sandbox.now()
    return {
        "version": _VERSION,
        "settings": {
            f.name: _encode(f.name, getattr(settings, f.name))
            for f in dataclasses.fields(Settings)
            if f.name not in _NOT_STORED
        },
        "clock": {
            "now": now.isoformat(),
            "saved_at": datetime.now(UTC).isoformat(),
            # The sandbox clock flows in real time: what is kept is its lead over it.
            "offset_seconds": (now - datetime.now(UTC)).total_seconds(),
        },
        "engine": sandbox._engine.export_state(),
    }


def _write(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp files are 0600
            json.dump(state, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_state(sandbox: Sandbox, path: Path) -> None:
    """Write the sandbox's state to ``path`` atomically (readers see old or new, whole)."""
    _write(Path(path), snapshot(sandbox))


def read_state(path: Path) -> dict[str, Any] | None:
    """The state stored at ``path``, or None when there is none.

    Raises
    ------
    ValueError
        When the file is not a sandbox state this version can read.
    """
    path = Path(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{path} is not a readable sandbox state ({exc}); delete it to start afresh"
        ) from None
    if not isinstance(state, dict) or state.get("version") != _VERSION:
        raise ValueError(
            f"{path} is not a sandbox state of version {_VERSION}; delete it to start afresh"
        )
    return state


def open_sandbox(path: Path, *, wait: float = WAIT_FOR_STATE, **options: Any) -> Sandbox:
    """A :class:`Sandbox` restored from ``path`` (or new), saving itself there as it changes.

    Parameters
    ----------
    path : pathlib.Path
        The state file, usually ``<cache_dir>/sandbox-state.json``.
    **options
        :class:`Sandbox` options for a new sandbox. With a stored state they must agree
        with it (the data would not match the cache otherwise); ``host``/``port`` and
        ``faults`` are free.
    wait : float
        Seconds to wait while another process serves the account (it holds the state
        until its sandbox closes).

    Raises
    ------
    StateConflict
        An option differs from the stored sandbox's.
    StateBusy
        Another process still serves the account after ``wait`` seconds.
    """
    path = Path(path)
    _check_options(read_state(path), options)  # a mismatch needs no wait to be told
    lock = _StateLock(path, wait)
    try:
        sandbox = _restore(path, options)
    except BaseException:
        lock.release()
        raise
    sandbox.persist(path, save_state, on_close=lock.release)
    return sandbox


def _restore(path: Path, options: dict[str, Any]) -> Sandbox:
    """The sandbox stored at ``path`` (its clock moved on by the time passed), or a new one."""
    state = read_state(path)
    if state is None:
        sandbox = Sandbox(**options)
    else:
        stored = _check_options(state, options)
        fields = {f.name for f in dataclasses.fields(Settings)}
        free = {k: v for k, v in options.items() if k not in fields}
        free.pop("now", None)
        free.pop("frozen", None)
        clock = state["clock"]
        now = datetime.now(UTC) + timedelta(seconds=float(clock["offset_seconds"]))
        sandbox = Sandbox(now=now, **stored, **free)
        sandbox._engine.import_state(state["engine"])
    return sandbox


def _check_options(state: dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any]:
    """The stored settings; :class:`StateConflict` when ``options`` disagree with them."""
    if state is None:
        return {}
    stored = {name: _decode(name, value) for name, value in state["settings"].items()}
    fields = {f.name for f in dataclasses.fields(Settings)}
    clash = {
        name: (value, stored[name])
        for name, value in options.items()
        if name in stored and name in fields and _normal(name, value) != stored[name]
    }
    if clash:
        said = ", ".join(f"{k}={v!r} (remembered: {s!r})" for k, (v, s) in clash.items())
        raise StateConflict(said)
    return stored


def _normal(name: str, value: Any) -> Any:
    if name in _DURATIONS and isinstance(value, int | float):
        return timedelta(seconds=value)
    if name == "missing_columns" and isinstance(value, list | str):
        return (value,) if isinstance(value, str) else tuple(value)
    return value


def advance_state(path: Path, delta: timedelta, *, wait: float = WAIT_FOR_STATE) -> datetime:
    """Move a stored sandbox's clock forward by ``delta``; return its new time.

    Raises
    ------
    FileNotFoundError
        When there is no state at ``path``.
    ValueError
        For a negative ``delta`` (the sandbox clock only moves forward).
    StateBusy
        A process still serves the account after ``wait`` seconds.
    """
    if delta < timedelta(0):
        raise ValueError("the sandbox clock only moves forward")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    lock = _StateLock(path, wait)  # a running sandbox would overwrite the change
    try:
        state = read_state(path)
        if state is None:
            raise FileNotFoundError(path)
        clock = state["clock"]
        clock["offset_seconds"] = float(clock["offset_seconds"]) + delta.total_seconds()
        now = datetime.now(UTC) + timedelta(seconds=clock["offset_seconds"])
        clock["now"] = now.isoformat()
        _write(path, state)
    finally:
        lock.release()
    return now
