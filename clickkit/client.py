"""The :class:`Client`: one call from a date range to a typed DataFrame of clicks.

A thin facade: it checks the arguments and hands the work to the parts that own it.
:class:`~clickkit.loader.Loader` plans a request against the cache and the quota and
carries it out (submit, wait, ingest), :mod:`clickkit.refresh` replays a day on request,
:mod:`clickkit.backfill` fills long ranges, :class:`~clickkit.ledger.Ledger` keeps the
quota; the client turns what they return into a DataFrame with its provenance in
``df.attrs["clickkit"]``.

Examples
--------
>>> import clickkit as ck
>>> client = ck.Client.sandbox()                                   # doctest: +SKIP
>>> df = client.clicks("2026-10-01", "2026-10-07", unique=True)    # doctest: +SKIP
>>> client.plan("2026-10-01", "2026-10-31")                        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clickkit import frames, inputs
from clickkit.api import ImpactApi
from clickkit.errors import ConfigurationError, InvalidRequestError, ProvisionalDataWarning
from clickkit.ledger import Ledger
from clickkit.loader import Loader, job_table
from clickkit.plan import Plan, QuotaStatus
from clickkit.provenance import warn_about
from clickkit.settings import ClientOptions, Settings, check_client_options, resolve
from clickkit.shared import SharedCache, open_cache

if TYPE_CHECKING:
    import pandas as pd

    from clickkit.backfill import BackfillReport
    from clickkit.dataset import DatasetReport
    from clickkit.doctor import DoctorReport

Clock = Callable[[], dt.datetime]


def _real_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


__all__ = ["Client", "ProvisionalDataWarning"]


def sandbox_cache_dir(cache_dir: str | Path | None, account_sid: str) -> Path:
    """The cache directory of a sandbox client: ``cache_dir``, else a per-account folder.

    Without ``cache_dir`` it is ``sandbox-<account_sid>`` under ``CLICKKIT_CACHE_DIR``
    (or the user cache dir), so sandbox data never mixes with a real account's cache.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from clickkit.settings import default_cache_dir

    env_dir = os.environ.get("CLICKKIT_CACHE_DIR")
    base = Path(env_dir).expanduser() if env_dir else default_cache_dir()
    return base / f"sandbox-{account_sid}"


class Client:
    """Click exports for one impact.com partner account, planned and cached.

    Parameters
    ----------
    account_sid, auth_token : str, optional
        Credentials; default to ``IMPACT_ACCOUNT_SID`` / ``IMPACT_AUTH_TOKEN``.
    base_url : str, optional
        API base URL (``CLICKKIT_BASE_URL``; default ``https://api.impact.com``).
    cache_dir : str or Path, optional
        Cache directory (``CLICKKIT_CACHE_DIR``; default the user cache dir).
    timezone : str, optional
        The account's time zone (``CLICKKIT_TIMEZONE``; default UTC): decides when a day
        is over and how ``event_date`` is shown.
    quota_timezone : str, optional
        Where the daily ClickExport quota resets at midnight (default UTC).
    settle_delay : datetime.timedelta, optional
        How long after midnight a day becomes final (``CLICKKIT_SETTLE_HOURS``; 3 h).
    daily_export_limit : int, optional
        ClickExport calls allowed per quota day (``CLICKKIT_DAILY_EXPORT_LIMIT``; 10).
    reserve : int, optional
        Exports a day that :meth:`backfill` and ``clickkit sync`` leave for interactive
        calls (``CLICKKIT_RESERVE``; 0). :meth:`clicks` may use them.
    clock : callable, optional
        Returns the current aware datetime; tests pass a sandbox's clock.
    result_format : {"CSV", "JSON", "XML"}
        Format requested from the API; CSV parses fastest.
    progress : bool
        Show a progress bar for work that waits on jobs.
    poll_interval, poll_max : float
        First and longest delay between status polls, in seconds.
    wait_timeout : float, optional
        Give up waiting after this many seconds (jobs are kept and resumed later).
    min_refresh_interval : datetime.timedelta
        The least time between an export or replay of a day and an explicit refresh.
    max_failed_replays : int
        Replays of a FAILED/CANCELLED job before :class:`~clickkit.JobFailed` is raised.
    max_replays_per_day : int
        Replays of one job per quota day, automatic and explicit together (3).
    proxies : dict, optional
        ``requests`` proxies for impact.com and its result host; by default the
        environment's ``HTTPS_PROXY``/``NO_PROXY`` apply (loopback never uses a proxy).
    verify : bool or str, optional
        TLS verification: a CA bundle path, or ``False``; by default
        ``REQUESTS_CA_BUNDLE`` or the system's.
    postback : object, optional
        A started :class:`clickkit.postback.PostbackReceiver`; polling then becomes a
        slow safety net.
    postback_safety_interval : float
        With ``postback``, seconds between safety-net polls in case a postback is lost.

    Examples
    --------
    >>> client = Client("IRabc", "secret", cache_dir=tmp_path)  # doctest: +SKIP
    >>> "secret" in repr(client)  # doctest: +SKIP
    False
    """

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        *,
        base_url: str | None = None,
        cache_dir: str | Path | None = None,
        timezone: str | None = None,
        quota_timezone: str | None = None,
        settle_delay: dt.timedelta | None = None,
        daily_export_limit: int | None = None,
        reserve: int | None = None,
        shared_cache: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        ir_version: str | None = None,
        max_days: int | None = None,
        clock: Clock | None = None,
        result_format: str = "CSV",
        progress: bool = True,
        poll_interval: float = 1.0,
        poll_max: float = 30.0,
        wait_timeout: float | None = None,
        min_refresh_interval: dt.timedelta = dt.timedelta(hours=1),
        max_failed_replays: int = 2,
        max_replays_per_day: int = 3,
        postback: Any = None,
        postback_safety_interval: float = 300.0,
        proxies: Mapping[str, str] | None = None,
        verify: bool | str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:

        env = os.environ if env is None else env
        account_sid = account_sid or env.get("IMPACT_ACCOUNT_SID")
        auth_token = auth_token or env.get("IMPACT_AUTH_TOKEN")
        if not account_sid or not auth_token:
            raise ConfigurationError(
                "no impact.com credentials: pass account_sid= and auth_token=, or set "
                "IMPACT_ACCOUNT_SID and IMPACT_AUTH_TOKEN. Without credentials, "
                "Client.sandbox() runs against the local sandbox."
            )
        check_client_options(
            account_sid=account_sid, auth_token=auth_token, poll_interval=poll_interval,
            poll_max=poll_max, wait_timeout=wait_timeout,
            min_refresh_interval=min_refresh_interval, max_failed_replays=max_failed_replays,
            postback_safety_interval=postback_safety_interval, progress=progress,
            max_replays_per_day=max_replays_per_day,
        )  # fmt: skip
        self.settings: Settings = resolve(
            {
                "base_url": base_url,
                "cache_dir": cache_dir,
                "timezone": timezone,
                "quota_timezone": quota_timezone,
                "settle_delay": settle_delay,
                "daily_export_limit": daily_export_limit,
                "ir_version": ir_version,
                "max_days": max_days,
                "reserve": reserve,
                "shared_cache": shared_cache,
            },
            env,
        )
        self.account_sid = account_sid
        #: The client's own options (waiting, replays, display), checked above.
        self.options = ClientOptions(
            result_format=inputs.parse_format(result_format), progress=bool(progress),
            poll_interval=poll_interval, poll_max=poll_max, wait_timeout=wait_timeout,
            min_refresh_interval=min_refresh_interval, max_failed_replays=max_failed_replays,
            max_replays_per_day=max_replays_per_day,
            postback_safety_interval=postback_safety_interval,
        )  # fmt: skip
        self.progress = self.options.progress
        self.sandbox_server: Any = None
        self._clock = clock or _real_clock
        # storage_options may hold credentials: passed on, never kept in settings or reprs.
        self.cache = open_cache(
            self.settings.cache_dir, self.settings.shared_cache, storage_options
        )
        self.api = ImpactApi(
            account_sid,
            auth_token,
            base_url=self.settings.base_url,
            ir_version=self.settings.ir_version,
            observer=lambda call: self.ledger.record(call),
            proxies=proxies,
            verify=verify,
        )
        self.ledger = Ledger(
            self.cache, account_sid, self.settings, now=self.now, rate_limit=self.api.rate_limit
        )
        #: Plans requests and carries them out; every data method delegates to it.
        self.loader = Loader(
            self.api, self.cache, self.ledger, account_sid, self.settings,
            now=self.now, options=self.options, postback=postback,
        )  # fmt: skip

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> Client:
        """A client whose credentials come from the environment, and only from there.

        ``Client()`` takes credentials as arguments and falls back on the environment;
        ``from_env()`` refuses them as arguments, so code (a notebook, a script) that
        uses it never holds a token. The other settings read the environment as
        ``Client()`` does (``CLICKKIT_*``, see :mod:`clickkit.settings`); ``options`` are
        the other ``Client`` options.

        Parameters
        ----------
        env : mapping, optional
            The environment (default ``os.environ``).

        Raises
        ------
        ConfigurationError
            When ``IMPACT_ACCOUNT_SID`` or ``IMPACT_AUTH_TOKEN`` is not set, or when
            ``account_sid``/``auth_token`` are passed.

        Examples
        --------
        >>> client = Client.from_env(progress=False)  # doctest: +SKIP
        """
        passed = sorted({"account_sid", "auth_token"} & set(options))
        if passed:
            raise ConfigurationError(
                f"from_env() reads the credentials from IMPACT_ACCOUNT_SID and "
                f"IMPACT_AUTH_TOKEN only; pass {', '.join(passed)} to Client(...) instead."
            )
        env = os.environ if env is None else env
        missing = [n for n in ("IMPACT_ACCOUNT_SID", "IMPACT_AUTH_TOKEN") if not env.get(n)]
        if missing:
            raise ConfigurationError(
                f"no impact.com credentials: {' and '.join(missing)} not set. Set them, pass "
                "account_sid= and auth_token= to Client(...), or use Client.sandbox() to run "
                "against the local sandbox."
            )
        return cls(env["IMPACT_ACCOUNT_SID"], env["IMPACT_AUTH_TOKEN"], env=env, **options)

    @classmethod
    def sandbox(
        cls, *, cache_dir: str | Path | None = None, persist: bool = False, **options: Any
    ) -> Client:
        """A client wired to an embedded sandbox server (no credentials needed).

        Options that :class:`clickkit.sandbox.Sandbox` takes (``seed``, ``now``,
        ``clicks_per_day``, ``timezone``, ``job_duration``, ``daily_export_limit``...) go
        to the sandbox, and the client takes the account, time zone, quota time zone and
        daily limit from it; ``settle_delay`` goes to both (clicks arrive within it, and
        the client waits for it); every other option (``progress``, ``poll_interval``...)
        goes to the client. The sandbox is reachable as ``client.sandbox_server`` and is
        closed with the client.

        Parameters
        ----------
        cache_dir : str or Path, optional
            The cache; by default ``sandbox-<account>`` under ``CLICKKIT_CACHE_DIR`` (or
            the user cache dir), so sandbox data never mixes with a real account's.
        persist : bool
            Keep the sandbox account (jobs and their runs, quota, clock, options) in
            ``<cache_dir>/sandbox-state.json`` and continue from it when it exists, so
            successive processes on this cache talk to the same account, as with
            impact.com. The clock keeps flowing in real time in between. Options given
            must match the remembered ones (``ConfigurationError`` otherwise).

        Examples
        --------
        >>> with Client.sandbox(cache_dir=tmp, persist=True) as client:  # doctest: +SKIP
        ...     client.clicks("2026-11-20")
        >>> Client.sandbox(cache_dir=tmp, persist=True).jobs()  # the same job  # doctest: +SKIP
        """
        from clickkit.sandbox import Sandbox

        sandbox_keys = set(inspect.signature(Sandbox).parameters)
        client_options = {k: options.pop(k) for k in list(options) if k not in sandbox_keys}
        if "settle_delay" in options:
            client_options["settle_delay"] = options["settle_delay"]
        server, cache_dir = _open_sandbox(cache_dir, persist, options)
        client_options.setdefault("quota_timezone", getattr(server, "quota_timezone", "UTC"))
        try:
            client = cls(
                server.account_sid,
                server.auth_token,
                base_url=server.url,
                cache_dir=cache_dir,
                timezone=getattr(server, "timezone", "UTC"),
                daily_export_limit=getattr(server, "daily_export_limit", 10),
                clock=server.now,
                **client_options,
            )
        except BaseException:
            server.close()
            raise
        client.sandbox_server = server
        return client

    def __repr__(self) -> str:
        return (
            f"Client(account_sid={self.account_sid!r}, base_url={self.settings.base_url!r}, "
            f"cache_dir={str(self.settings.cache_dir)!r})"
        )

    def close(self) -> None:
        """Close HTTP sessions, the cache index and an owned sandbox."""
        self.api.close()
        self.cache.close()
        if self.sandbox_server is not None:
            self.sandbox_server.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- clock, ledger, quota ---------------------------------------------------------

    def now(self) -> dt.datetime:
        """The client's clock (aware)."""
        return self._clock()

    def today(self) -> dt.date:
        """Today in the account's time zone."""
        return self.loader.today()

    def quota(self) -> QuotaStatus:
        """ClickExport calls used and left in the current quota day (no API call).

        The local ledger counts calls from every process using this cache; the server's
        own headers, when it sent them this quota day, win where they say less is left.
        """
        return self.ledger.status()

    # -- requests and plans ----------------------------------------------------------

    def plan(
        self,
        start: Any,
        end: Any = None,
        *,
        program_id: Any = None,
        ad_id: Any = None,
        sub_id: Any = None,
        unique: bool | None = None,
        scope: str = "day",
        result_format: str | None = None,
        fetch: Literal["all", "fits"] = "all",
        include_today: bool = False,
    ) -> Plan:
        """Dry run of :meth:`clicks`: what each day needs and what it costs. Spends nothing.

        A plan that needs more exports than are left today says how many quota days it
        needs and when all of it can be loaded (:attr:`Plan.quota_days`,
        :attr:`Plan.finishes_at`).

        Examples
        --------
        >>> client.plan("2026-10-01", "2026-10-31").exports  # doctest: +SKIP
        12
        """
        req = self.loader.request(
            start, end, program_id=program_id, ad_id=ad_id, sub_id=sub_id, unique=unique,
            scope=scope, result_format=result_format,
        )  # fmt: skip
        return self.loader.plan(
            req,
            inputs.parse_choice(fetch, "fetch", ("all", "fits")),
            include_today=_flag(include_today, "include_today"),
        )

    # -- the main call ----------------------------------------------------------------

    def clicks(
        self,
        start: Any,
        end: Any = None,
        *,
        program_id: Any = None,
        ad_id: Any = None,
        sub_id: Any = None,
        unique: bool | None = None,
        scope: str = "day",
        result_format: str | None = None,
        fetch: Literal["all", "fits"] = "all",
        include_today: bool = False,
        progress: bool | None = None,
        timeout: float | None = None,
        engine: Literal["pandas", "dask"] = "pandas",
    ) -> pd.DataFrame:
        """Clicks from ``start`` to ``end`` (inclusive, account time zone) as a DataFrame.

        Parameters
        ----------
        start, end : str, date or datetime
            The first and last day; ``end`` defaults to ``start``.
        program_id, ad_id : int or list of int, optional
            Keep clicks of these programs / ads.
        sub_id : str or list of str, optional
            Keep clicks carrying any of these values in ``sub_id1..3``.
        unique : bool, optional
            ``True`` keeps only IAB-unique clicks.
        scope : {"day", "exact"}
            ``"day"`` (default) exports each day whole once and filters locally, so any
            later question about the day costs nothing. ``"exact"`` sends the filters to
            the API (smaller downloads); a cached whole day still answers it locally.
        result_format : {"CSV", "JSON", "XML"}, optional
            Format requested from the API (default: the client's, CSV).
        fetch : {"all", "fits"}
            ``"all"`` raises :class:`~clickkit.QuotaExhausted` before spending anything
            when the quota does not cover the plan; ``"fits"`` fetches the most recent
            days that fit and leaves the rest (listed in ``df.attrs``) for later.
        include_today : bool
            With ``fetch="fits"``: also export days that are not final yet (today, and
            yesterday within the settle delay). By default they are left out (listed in
            ``df.attrs["clickkit"]["held_back"]``): exporting one now costs an export now
            and a replay once it is final. Days already cached are served either way;
            ``fetch="all"`` always includes them.
        progress : bool, optional
            Show a progress bar (default: the client's setting).
        timeout : float, optional
            Seconds to wait for jobs before :class:`~clickkit.WaitTimeout`; nothing is
            lost, the next call resumes the same jobs.
        engine : {"pandas", "dask"}
            ``"dask"`` returns a lazy ``dask.dataframe`` with one partition per day.

        Returns
        -------
        pandas.DataFrame
            The documented schema (see README); provenance in ``df.attrs["clickkit"]``.

        Examples
        --------
        >>> df = client.clicks("2026-10-01", "2026-10-07", program_id=[1234])  # doctest: +SKIP
        """
        req = self.loader.request(
            start, end, program_id=program_id, ad_id=ad_id, sub_id=sub_id, unique=unique,
            scope=scope, result_format=result_format,
        )  # fmt: skip
        engine = inputs.parse_choice(engine, "engine", ("pandas", "dask"))  # type: ignore[assignment]
        if engine == "dask":
            from clickkit.daskframe import require_dask

            require_dask()  # before anything is spent
        fetch_mode = inputs.parse_choice(fetch, "fetch", ("all", "fits"))
        include = _flag(include_today, "include_today")
        show = self.progress if progress is None else progress
        # Dask reads a shared cache's days from its bucket: none is mirrored here to plan.
        remote = engine == "dask" and isinstance(self.cache, SharedCache)

        before = self.ledger.calls()
        plan, sources = self.loader.carry_out(
            req, fetch_mode, show, timeout, include_today=include, remote_days=remote
        )
        spent = self.ledger.calls() - before
        options = {"fetch": fetch_mode, "include_today": include}

        if engine == "dask":
            provenance = self.loader.provenance(plan, req, sources, spent, **options)
            lazy = self.loader.dask_frame(plan, req, timeout)
            warn_about(plan, provenance)
            return lazy
        table, returned = self.loader.read(plan, req, timeout)
        frame = frames.user_frame(table, self.settings.timezone)
        frame.attrs["clickkit"] = self.loader.provenance(
            plan, req, sources, spent, returned=returned, **options
        )
        warn_about(plan, frame.attrs["clickkit"])
        return frame

    # -- long ranges ------------------------------------------------------------------

    def backfill(
        self,
        start: Any,
        end: Any = None,
        *,
        reserve: int | None = None,
        wait: bool = False,
        program_id: Any = None,
        ad_id: Any = None,
        sub_id: Any = None,
        unique: bool | None = None,
        scope: str = "day",
        result_format: str | None = None,
        progress: bool | None = None,
        timeout: float | None = None,
        sleep: Callable[[float], Any] | None = None,
    ) -> BackfillReport:
        """Fill the cache for a long range within the daily quota; build no DataFrame.

        Spends at most the exports left minus ``reserve``, on the most recent complete
        days first; replays (once, with the usual guards) provisional days that became
        final; never exports a day that is not final yet (it would cost an export now
        and a replay later). Everything is recorded as ``clicks()`` records it, so a
        later :meth:`clicks` of the range is served from the cache, and an interrupted
        backfill continues where it stopped without spending anything twice.

        Parameters
        ----------
        start, end : str, date or datetime
            The range; ``end`` defaults to the last final day (or ``start``, when that
            is not final yet: the day is then left for a later run).
        reserve : int, optional
            Exports of each quota day left for interactive calls (default: the client's
            ``reserve`` setting, ``CLICKKIT_RESERVE``, 0).
        wait : bool
            Sleep until the quota resets (or a day becomes final) and carry on until the
            whole range is in the cache, with a progress bar of days done and the next
            reset. Interrupt it at any time; calling again continues.
        program_id, ad_id, sub_id, unique, scope, result_format
            As for :meth:`clicks` (with ``scope="day"`` whole days are exported, so the
            filters do not change what is spent).
        progress : bool, optional
            Show progress bars (default: the client's setting).
        timeout : float, optional
            Seconds to wait for jobs in each round before :class:`~clickkit.WaitTimeout`
            (the jobs are kept; the next call resumes them).
        sleep : callable, optional
            Called with a number of seconds to wait for the next round (default
            :func:`time.sleep`); a test passes ``client.sandbox_server.advance``.

        Returns
        -------
        BackfillReport
            ``exports``, ``replays``, ``days_done``, ``days_left`` and ``next_run``;
            shown as one line of text or a table in notebooks; ``to_dict()`` for JSON.

        Examples
        --------
        >>> report = client.backfill("2026-08-01", "2026-10-31")  # doctest: +SKIP
        >>> report.next_run  # doctest: +SKIP
        datetime.datetime(2026, 11, 28, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
        >>> client.backfill("2026-08-01", "2026-10-31", reserve=2, wait=True)  # doctest: +SKIP
        """
        from clickkit.backfill import backfill, check_reserve, last_final_day

        kept = check_reserve(
            self.settings.reserve if reserve is None else reserve,
            self.settings.daily_export_limit,
        )
        wait = _flag(wait, "wait")
        if end is None:
            # The last complete day; a start after it stays in range, left for later.
            end = max(inputs.parse_date(start, "start"), last_final_day(self))
        req = self.loader.request(
            start, end, program_id=program_id, ad_id=ad_id, sub_id=sub_id, unique=unique,
            scope=scope, result_format=result_format,
        )  # fmt: skip
        show = self.progress if progress is None else _flag(progress, "progress")
        return backfill(
            self.loader, req, reserve=kept, wait=wait, progress=show, timeout=timeout, sleep=sleep
        )

    # -- scale out ----------------------------------------------------------------------

    def export_dataset(self, path: str | Path, start: Any = None, end: Any = None) -> DatasetReport:
        """Publish the cached whole days as a hive-partitioned Parquet dataset; spends nothing.

        Incremental: only new or refreshed days are written. See
        :func:`clickkit.dataset.export_dataset` for the layout and the guarantees.

        Examples
        --------
        >>> client.export_dataset("clicks-dataset")  # doctest: +SKIP
        """
        from clickkit.dataset import export_dataset

        return export_dataset(self.cache, self.account_sid, path, start, end)

    # -- what the account really does ----------------------------------------------------

    def doctor(
        self,
        *,
        spend_one: Any = None,
        confirm: Callable[[str], bool] | None = None,
        timezone: str | None = None,
        workdir: str | Path | None = None,
    ) -> DoctorReport:
        """Check what this impact.com account does where the documentation is silent.

        Without ``spend_one`` only free calls are made (Jobs list, Jobs/{id}). With
        ``spend_one=DATE`` one ClickExport of that day is spent (``confirm`` is asked
        first) and its file inspected; its job is recorded in the cache, so a later
        :meth:`clicks` of that day resumes it instead of exporting again. See
        :func:`clickkit.doctor.run_doctor`.

        Examples
        --------
        >>> print(client.doctor())  # doctest: +SKIP
        """
        import tempfile

        from clickkit.doctor import run_doctor

        day = None if spend_one is None else inputs.parse_date(spend_one, "spend_one")
        with tempfile.TemporaryDirectory(prefix="clickkit-doctor-", dir=workdir) as scratch:
            return run_doctor(
                self.api,
                timezone=timezone or self.settings.timezone,
                spend_one=day,
                confirm=confirm,
                quota_left=self.quota().remaining,
                # Recorded as clicks() records its export, so clicks() resumes the job.
                on_submit=lambda job_id: self.loader.record_export(day, job_id),
                now=self.now,
                poll_initial=self.options.poll_interval,
                workdir=Path(scratch),
            )

    # -- jobs and refresh -------------------------------------------------------------

    def jobs(self, *, check: bool = False) -> pd.DataFrame:
        """Known jobs and their states, one row per cached request.

        Parameters
        ----------
        check : bool
            Ask the API for the current state of unfinished jobs first (one
            ``Jobs/{id}`` call each); otherwise nothing is spent.
        """
        return job_table(self.loader.known_jobs(check=check))

    def refresh(
        self,
        day: Any,
        *,
        program_id: Any = None,
        ad_id: Any = None,
        sub_id: Any = None,
        unique: bool | None = None,
        scope: str = "day",
        timeout: float | None = None,
        force: bool = False,
    ) -> pd.DataFrame:
        """Replay the existing job of ``day`` and return the refreshed day.

        Guarded, as impact.com asks: never while the job is queued or running, never
        right after it was submitted or replayed (``min_refresh_interval``), at most
        ``max_replays_per_day`` times a quota day, never a day that was already final
        when fetched (unless ``force=True``), and never a new export.

        Raises
        ------
        RefreshRefused
            With the reason, when a guard refuses.
        """
        from clickkit.refresh import refresh

        req = self.loader.request(
            day, None, program_id=program_id, ad_id=ad_id, sub_id=sub_id, unique=unique,
            scope=scope, result_format=None,
        )  # fmt: skip
        return refresh(self.loader, req, force=force, timeout=timeout, progress=self.progress)


def _flag(value: Any, name: str) -> bool:
    """``value`` if it is True or False, else InvalidRequestError naming ``name``."""
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{name}={value!r} must be True or False.")
    return value


def _open_sandbox(
    cache_dir: str | Path | None, persist: bool, options: dict[str, Any]
) -> tuple[Any, Path | str]:
    """A sandbox server made with ``options`` (remembered in ``cache_dir`` with ``persist``).

    Returns the server and the cache directory the client uses with it.
    """
    from clickkit.sandbox import Sandbox

    if not persist:
        server = Sandbox(**options)
        if cache_dir is None:
            cache_dir = sandbox_cache_dir(None, server.account_sid)
        return server, cache_dir
    from clickkit.sandbox.generator import DEFAULT_ACCOUNT_SID
    from clickkit.sandbox.state import STATE_FILE, StateConflict, open_sandbox

    cache_dir = sandbox_cache_dir(cache_dir, options.get("account_sid") or DEFAULT_ACCOUNT_SID)
    state = Path(cache_dir) / STATE_FILE
    try:
        return open_sandbox(state, **options), cache_dir
    except StateConflict as exc:
        raise ConfigurationError(
            f"the sandbox remembered in {state} was made with other options: {exc}. "
            "Give the same options, use another cache directory, or delete that "
            "file to start a new sandbox account."
        ) from None
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
