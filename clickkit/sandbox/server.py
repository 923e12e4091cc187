"""The :class:`Sandbox`: a local impact.com Partner API plus its storage host.

Two werkzeug servers run in daemon threads: the API (ClickExport, Jobs, Download,
Replay) and a "storage" host serving signed result URLs. Both read one
:class:`~clickkit.sandbox.engine.Engine` and one sandbox clock.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from clickkit.sandbox.api import ApiApp
from clickkit.sandbox.clock import Clock
from clickkit.sandbox.engine import Engine, Settings
from clickkit.sandbox.faults import Faults, coerce_faults
from clickkit.sandbox.postbacks import PostbackNotifier
from clickkit.sandbox.profiles import resolve_options
from clickkit.sandbox.storage import StorageApp, UrlSigner

__all__ = ["Sandbox"]

logger = logging.getLogger("clickkit.sandbox")


class _QuietHandler(WSGIRequestHandler):
    """Request handler that logs to ``clickkit.sandbox`` at debug level, not to stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug("%s %s", type, message % args if args else message)


def _duration(value: timedelta | float | int) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


class _Unset:
    """Marks a keyword the caller did not give, so a profile (or the default) applies."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()
_SETTINGS = frozenset(f.name for f in dataclasses.fields(Settings))


def _settings(profile: str | None, given: dict[str, Any]) -> Settings:
    """The engine's settings: ``profile``'s values, then ``given``, checked and completed.

    Durations may be given as seconds; a missing token becomes a random one; time zone
    names must be IANA names.

    Examples
    --------
    >>> _settings(None, {"job_duration": 2.5}).job_duration
    datetime.timedelta(seconds=2, microseconds=500000)
    """
    options = resolve_options(profile, given)
    options["profile"] = profile
    for name in ("job_duration", "replay_lag"):
        if name in options:
            options[name] = _duration(options[name])
    if options.get("auth_token") is None:
        options["auth_token"] = secrets.token_urlsafe(24)
    options["outcomes"] = dict(options.get("outcomes") or {})
    for name in ("timezone", "quota_timezone"):
        zone = options.get(name, "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{name}={zone!r} is not an IANA time zone name") from exc
    return Settings(**options)


class Sandbox:
    """A faithful local impact.com Partner API for demos, notebooks and tests.

    The servers start when the object is created; use it as a context manager or call
    :meth:`close`. All options are keyword-only.

    Parameters
    ----------
    now : datetime, optional
        Start of the sandbox clock (aware); default the real current time. The clock then
        flows in real time, plus whatever :meth:`advance` adds.
    frozen : bool, default False
        If True the clock moves only by :meth:`advance`.
    seed : int, default 0
        Seeds the synthetic clicks and the fault-injection dice.
    account_sid : str, default "IRsandbox0001"
        The account; the HTTP Basic user name and the ``{SID}`` in paths.
    auth_token : str, optional
        The HTTP Basic password; random per instance when not given.
    host : str, default "127.0.0.1"
        Interface both servers bind.
    port, storage_port : int, default 0
        Ports of the API and the storage host (0 picks a free port).
    clicks_per_day : int, default 2000
        Base daily volume (weekday/weekend pattern and noise around it).
    timezone : str, default "UTC"
        Account time zone (IANA); ``EventDate`` offsets, Job dates, "today" follow it.
    job_duration : timedelta or float, default 1 second
        Sandbox time from QUEUED to done: the first 20% queued, then RUNNING with
        progress, then COMPLETED. ``0`` completes immediately.
    daily_export_limit : int, default 10
        ClickExport calls per quota day; the next one gets 429 with ``Retry-After``.
    quota_timezone : str, default "UTC"
        The quota day resets at midnight in this zone.
    duplicates_count : bool, default True
        An identical repeat (which returns the same job) still spends quota.
    replays_count : bool, default False
        Whether Replay spends ClickExport quota.
    hourly_limit : int, default 1000
        API calls (storage excluded) per clock hour; then 429.
    settle_delay : timedelta, default 2 hours
        Maximum arrival lag of a click: a day is complete this long after it ends.
    retention : timedelta or None, default 90 days
        Results older than this (by CompletedDate) answer 404; None keeps them forever.
    signed_url_ttl : timedelta, default 5 minutes
        Lifetime of the signed storage URLs.
    string_fields : bool, default True
        Send Job numbers and booleans as strings (``"250"``, ``"true"``), as impact.com's
        documented examples do; False sends JSON numbers and booleans.
    csv_true, csv_false : str, default "true", "false"
        How booleans are written in CSV (and XML) results, e.g. "Y"/"N", "1"/"0".
    csv_bom : bool, default False
        Start CSV results with a UTF-8 BOM.
    json_flat : bool, default False
        JSON/XML results carry ``SubId1..3`` flat instead of nested in ``PartnerRelated``.
    event_date_style : {"offset", "Z", "naive"}, default "offset"
        ``EventDate`` in results: with the account's offset
        (``2026-11-05T08:06:24-05:00``), in UTC (``2026-11-05T13:06:24Z``) or as wall
        time in the account zone without offset (``2026-11-05T08:06:24``).
    money_style : {"plain", "quoted", "dollar"}, default "plain"
        ``CpcBid`` and ``Payout`` as ``0.25``; always double-quoted in CSV (``"0.25"``;
        JSON keeps strings either way); or ``$0.25``.
    line_ending : {"\\r\\n", "\\n"}, default "\\r\\n"
        Line ends of CSV results.
    extra_columns : bool, default False
        Results carry the brand-side fields ``AdCampaign``, ``AdGroup``, ``Keyword``,
        ``MatchType``, ``Channel`` (mostly empty) after ``ProductSku``, flat in every
        format.
    missing_columns : tuple of str, default ()
        Export fields left out of result files, e.g. ``("UniqueClick", "SubId3")``. The
        API's filters (``UniqueClick=TRUE``...) still apply to the underlying clicks.
    page_size : int or None, default 10000
        JSON and XML results are split into pages of this many rows: the envelope says
        ``@page``/``@numpages``/``@pagesize``/``@total`` (XML: attributes of
        ``<Clicks>``; ``@total`` is the whole result), Download takes ``Page=N``
        (1-based, default 1) for ``Mode=Stream`` and for the 302, whose signed URL names
        the page (``/results/{job}/{run}.p{N}.json``); a page beyond the last is 404.
        CSV is never paged. None: one page.
    compress_storage : bool, default True
        The storage host answers with ``Content-Encoding: gzip``, the gzip bytes as the
        body and their length as ``Content-Length``. ``Mode=Stream`` is never compressed.
    failed_download : {"202", "200", "404", "409"}, default "202"
        What Download answers for a FAILED or CANCELLED job: the Job object with 202 (like
        an unfinished job) or 200 (and no file), or the error envelope with 404 or 409.
    failed_exports_count : bool, default True
        Every ClickExport that passed authentication and the hourly limit spends one call
        of the daily quota whatever its answer (400, an injected 5xx, a dropped or lost
        answer), as a rate-limiting gateway in front of the API would count it; a 429
        (hourly or daily) spends nothing. False: only calls answered 200 count (and
        duplicates as ``duplicates_count`` says).
    replay_lag : timedelta or float, default 1 second
        After a Replay the job keeps answering as its previous run (Status, dates and the
        downloaded file) for this long, and the Replay answer itself shows it so; then the
        new run is queued. A Replay during the lag answers the same and queues nothing.
        ``0``: the new run is queued at once.
    auth_before_rate_limit : bool, default True
        Credentials are checked before the hourly limit, so a 401/403 spends none of the
        account's hourly budget. False: the hourly limit, injected faults, then
        authentication.
    rate_limit_body : {"impact", "kong"}, default "impact"
        Body of 429 answers: the ``{"Status":"ERROR","Message":...}`` envelope, or a rate
        limiting gateway's ``{"message":"API rate limit exceeded"}`` (always JSON).
    profile : str, optional
        A named set of the options above from :data:`~clickkit.sandbox.PROFILES`:
        ``"pessimistic"`` turns on every variant that is harder for a client,
        ``"documented"`` is the most optimistic reading of impact.com's documentation.
        Keywords given explicitly win over the profile.
    outcomes : dict of str to list of str, optional
        Per date (``"YYYY-MM-DD"``) the outcome of each successive run of that day's jobs:
        ``"COMPLETED"``, ``"FAILED"`` (ERROR, retried every ``error_retry_interval`` up to
        ``error_retries`` times, then FAILED), ``"ERROR_THEN_COMPLETED"``, ``"CANCELLED"``.
        Runs beyond the list complete.
    error_retry_interval : timedelta, default 15 minutes
        Wait between an ERROR and the automatic retry.
    error_retries : int, default 5
        Automatic retries before a job is FAILED.
    postback_url : str, optional
        Job Completion postback template with ``{JobId}``, ``{Status}``, ``{Type}``,
        ``{ResultUri}``, ``{CompletedDate}``; GET when a run ends COMPLETED, FAILED or
        CANCELLED.
    postback_retries : int, default 3
        Retries of a postback answered non-2xx (or not at all).
    postback_retry_delay : float, default 0.2
        Seconds (real time) between postback retries.
    faults : Faults or dict, optional
        Fault injection; see :class:`~clickkit.sandbox.faults.Faults`.

    Raises
    ------
    ValueError
        For an unknown profile, time zone or option value.

    Notes
    -----
    Paths, statuses and the choices made where impact.com is silent are listed in
    :mod:`clickkit.sandbox.api`. The storage host is ``storage_url``; it refuses requests
    carrying an ``Authorization`` header.

    Examples
    --------
    >>> import requests
    >>> from datetime import UTC, datetime
    >>> with Sandbox(now=datetime(2026, 11, 27, 9, tzinfo=UTC), frozen=True) as sb:
    ...     r = requests.get(f"{sb.url}/Mediapartners/{sb.account_sid}/ClickExport.json",
    ...                      params={"Date": "2026-11-26"},
    ...                      auth=(sb.account_sid, sb.auth_token))
    ...     r.status_code, r.json()["Status"]
    (200, 'QUEUED')
    >>> with Sandbox(profile="pessimistic", page_size=500, frozen=True) as sb:
    ...     sb.settings.page_size, sb.settings.rate_limit_body
    (500, 'kong')
    """

    def __init__(
        self,
        *,
        now: datetime | None = None,
        frozen: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        storage_port: int = 0,
        faults: Faults | dict[str, Any] | None = None,
        profile: str | None = None,
        seed: int = _UNSET,
        account_sid: str = _UNSET,
        auth_token: str | None = _UNSET,
        clicks_per_day: int = _UNSET,
        timezone: str = _UNSET,
        job_duration: timedelta | float = _UNSET,
        daily_export_limit: int = _UNSET,
        quota_timezone: str = _UNSET,
        duplicates_count: bool = _UNSET,
        replays_count: bool = _UNSET,
        hourly_limit: int = _UNSET,
        settle_delay: timedelta = _UNSET,
        retention: timedelta | None = _UNSET,
        signed_url_ttl: timedelta = _UNSET,
        string_fields: bool = _UNSET,
        csv_true: str = _UNSET,
        csv_false: str = _UNSET,
        csv_bom: bool = _UNSET,
        json_flat: bool = _UNSET,
        event_date_style: str = _UNSET,
        money_style: str = _UNSET,
        line_ending: str = _UNSET,
        extra_columns: bool = _UNSET,
        missing_columns: tuple[str, ...] = _UNSET,
        page_size: int | None = _UNSET,
        compress_storage: bool = _UNSET,
        failed_download: str = _UNSET,
        failed_exports_count: bool = _UNSET,
        replay_lag: timedelta | float = _UNSET,
        auth_before_rate_limit: bool = _UNSET,
        rate_limit_body: str = _UNSET,
        outcomes: dict[str, list[str]] | None = _UNSET,
        error_retry_interval: timedelta = _UNSET,
        error_retries: int = _UNSET,
        postback_url: str | None = _UNSET,
        postback_retries: int = _UNSET,
        postback_retry_delay: float = _UNSET,
    ) -> None:
        given = {k: v for k, v in locals().items() if k in _SETTINGS and v is not _UNSET}
        given.pop("profile", None)
        settings = _settings(profile, given)
        self._clock = Clock(now, frozen=frozen)
        self._engine = Engine(settings, self._clock, coerce_faults(faults))
        signer = UrlSigner(secrets.token_bytes(32))
        self._closed = False
        self._state_path: Path | None = None
        self._saver: Callable[[Sandbox, Path], None] | None = None
        self._on_close: Callable[[], None] | None = None
        self._save_lock = threading.Lock()
        self._servers: list[BaseWSGIServer] = []
        self._notifier: PostbackNotifier | None = None
        try:
            storage = self._serve(host, storage_port, StorageApp(self._engine, signer))
            self.storage_url = _base_url(storage)
            self._serve(host, port, ApiApp(self._engine, signer, lambda: self.storage_url))
            self.url = _base_url(self._servers[-1])
            if settings.postback_url:
                self._notifier = PostbackNotifier(self._engine)
                self._notifier.start()
        except BaseException:
            self.close()
            raise

    def _serve(self, host: str, port: int, app: Any) -> BaseWSGIServer:
        server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self._servers.append(server)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so close() returns quickly
            name=f"sandbox-{server.server_port}",
            daemon=True,
        )
        thread.start()
        return server

    # -- identity ----------------------------------------------------------------------

    url: str
    """Base URL of the API server, e.g. ``http://127.0.0.1:41234``."""
    storage_url: str
    """Base URL of the storage host that signed result URLs point to."""

    @property
    def account_sid(self) -> str:
        """The account SID (HTTP Basic user name)."""
        return self._engine.settings.account_sid

    @property
    def auth_token(self) -> str:
        """The auth token (HTTP Basic password)."""
        return self._engine.settings.auth_token

    @property
    def timezone(self) -> str:
        """The account time zone."""
        return self._engine.settings.timezone

    @property
    def quota_timezone(self) -> str:
        """The zone whose midnight resets the ClickExport quota."""
        return self._engine.settings.quota_timezone

    @property
    def settings(self) -> Settings:
        """A copy of every option in force (after the profile and the keywords)."""
        return dataclasses.replace(self._engine.settings)

    @property
    def daily_export_limit(self) -> int:
        """ClickExport calls allowed per quota day."""
        return self._engine.settings.daily_export_limit

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.url
        return f"Sandbox({state}, account_sid={self.account_sid!r})"

    # -- clock -------------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox time (aware, UTC)."""
        return self._clock.now()

    def advance(self, delta: timedelta | float) -> None:
        """Move the sandbox clock forward by ``delta`` (a timedelta or seconds)."""
        self._clock.advance(_duration(delta))
        self._engine.wake.set()
        self._save()

    # -- persistence -------------------------------------------------------------------

    @property
    def state_path(self) -> Path | None:
        """The file this sandbox keeps its state in (see :meth:`persist`), or None."""
        return self._state_path

    def persist(
        self,
        path: str | Path,
        save: Callable[[Sandbox, Path], None],
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        """Keep this sandbox's state in ``path`` from now on, saved after every change.

        ``save(self, path)`` writes it (:func:`clickkit.sandbox.state.save_state`: jobs
        and their runs, quota counters, statistics, options but not the auth token, and
        the clock's lead over real time) after each new job, replay or spent export, on
        :meth:`advance` and on :meth:`close`; ``on_close`` is called after the last save
        (it lets go of the state's lock). Use
        :func:`clickkit.sandbox.state.open_sandbox`, which restores a state and persists.
        """
        self._state_path = Path(path)
        self._saver = save
        self._on_close = on_close
        self._engine.on_change = self._save
        self._save()

    def _save(self) -> None:
        if self._state_path is None or self._saver is None:
            return
        with self._save_lock:
            self._saver(self, self._state_path)

    # -- inspection and control ----------------------------------------------------------

    def stats(self) -> dict[str, dict[Any, int]]:
        """Calls per endpoint (``requests``) and answers per status code (``status``).

        ``requests`` has the keys ClickExport, Job, JobList, Download, Storage and Replay;
        ``_sandbox`` calls are not counted.
        """
        return self._engine.stats()

    def reset_stats(self) -> None:
        """Zero :meth:`stats` (quotas and jobs are untouched)."""
        self._engine.reset_stats()

    def jobs(self) -> list[dict[str, Any]]:
        """Every job: id, params, status, created, abandoned and its runs (for tests).

        Each run has number, queued_at, outcome, status, finishes_at, completed_at and
        pending (a replayed run still waiting out ``replay_lag``); the job's status is
        that of its current run.
        """
        return [self._engine.describe(job) for job in self._engine.all_jobs()]

    def postbacks(self) -> list[dict[str, Any]]:
        """Every postback delivery attempt: job_id, status, url, attempt, http_status, error."""
        return self._notifier.log() if self._notifier else []

    def set_outcomes(self, date_str: str, outcomes: list[str]) -> None:
        """Set the outcomes of the next runs of ``date_str``'s jobs (see ``outcomes``)."""
        self._engine.set_outcomes(date_str, outcomes)

    @property
    def faults(self) -> Faults:
        """The fault injection in force."""
        return self._engine.faults.faults

    def set_faults(self, faults: Faults | dict[str, Any] | None = None, **changes: Any) -> None:
        """Change fault injection at runtime.

        ``set_faults(Faults(...))`` replaces everything; ``set_faults(hourly_429=True)`` or
        ``set_faults({"hourly_429": True})`` changes just those fields;
        ``set_faults(Faults())`` switches all faults off.
        """
        current = coerce_faults(faults, base=self.faults)
        self._engine.faults.faults = coerce_faults(changes, base=current)

    # -- lifetime --------------------------------------------------------------------

    def close(self) -> None:
        """Stop both servers and the postback ticker (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._notifier is not None:
            self._notifier.stop()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        try:
            self._save()  # the statistics of the last calls too
        finally:
            if self._on_close is not None:
                self._on_close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _base_url(server: BaseWSGIServer) -> str:
    host = server.server_address[0]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"  # a wildcard bind is reachable on loopback
    if ":" in str(host):
        host = f"[{host}]"
    return f"http://{host}:{server.server_port}"
