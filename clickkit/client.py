"""The :class:`Client`: one call from a date range to a typed DataFrame of clicks.

It ties the parts together: plan the days against the cache and the quota, submit the
exports and replays the plan needs (recording each job id first), wait for all jobs
together, download and parse results into Parquet day frames, and return the filtered,
concatenated DataFrame with its provenance in ``df.attrs["clickkit"]``.

Examples
--------
>>> import clickkit as ck
>>> client = ck.Client.sandbox()                                   # doctest: +SKIP
>>> df = client.clicks("2026-10-01", "2026-10-07", unique=True)    # doctest: +SKIP
>>> client.plan("2026-10-01", "2026-10-31")                        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clickkit import frames, inputs, schema
from clickkit.api import ImpactApi
from clickkit.cache import request_key
from clickkit.errors import (
    ConfigurationError,
    InvalidRequestError,
    JobLost,
    ProvisionalDataWarning,
    RefreshRefused,
)
from clickkit.fetch import Fetcher, filter_columns, local_filters, progress_bar
from clickkit.ledger import Ledger
from clickkit.plan import (
    Candidate,
    DayPlan,
    Filters,
    Plan,
    QuotaStatus,
    Request,
    date_range,
    is_final,
    make_plan,
    plan_day,
    replay_refusal,
)
from clickkit.provenance import build_provenance, warn_about
from clickkit.settings import Settings, check_client_options, resolve
from clickkit.shared import BucketUnreachable, SharedCache, open_cache

if TYPE_CHECKING:
    import dask.dataframe
    import pandas as pd
    import pyarrow as pa

    from clickkit.backfill import BackfillReport
    from clickkit.dataset import DatasetReport
    from clickkit.doctor import DoctorReport

log = logging.getLogger("clickkit")

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
        )  # fmt: skip
        if (
            isinstance(max_replays_per_day, bool)
            or not isinstance(max_replays_per_day, int)
            or (max_replays_per_day < 1)
        ):
            raise ConfigurationError(
                f"max_replays_per_day={max_replays_per_day!r} must be a whole number of at "
                "least 1 (impact.com asks for few replays a day; the default is 3)."
            )
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
        self.result_format = inputs.parse_format(result_format)
        self.progress = progress
        self.wait_timeout = wait_timeout
        self.min_refresh_interval = min_refresh_interval
        self.max_failed_replays = max_failed_replays
        self.max_replays_per_day = max_replays_per_day
        self.postback = postback
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
        self._waiter_options = {
            "poll_initial": poll_interval,
            "poll_max": poll_max,
            "safety_interval": postback_safety_interval,
        }

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
        if persist:
            from clickkit.sandbox.generator import DEFAULT_ACCOUNT_SID
            from clickkit.sandbox.state import STATE_FILE, StateConflict, open_sandbox

            cache_dir = sandbox_cache_dir(
                cache_dir, options.get("account_sid") or DEFAULT_ACCOUNT_SID
            )
            state = Path(cache_dir) / STATE_FILE
            try:
                server = open_sandbox(state, **options)
            except StateConflict as exc:
                raise ConfigurationError(
                    f"the sandbox remembered in {state} was made with other options: {exc}. "
                    "Give the same options, use another cache directory, or delete that "
                    "file to start a new sandbox account."
                ) from None
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
        else:
            server = Sandbox(**options)
            if cache_dir is None:
                cache_dir = sandbox_cache_dir(None, server.account_sid)
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
        from zoneinfo import ZoneInfo

        return self.now().astimezone(ZoneInfo(self.settings.timezone)).date()

    def _fetcher(self) -> Fetcher:
        """A Fetcher with the client's current settings (cheap; made per call)."""
        return Fetcher(
            api=self.api,
            cache=self.cache,
            account_sid=self.account_sid,
            settings=self.settings,
            now=self.now,
            waiter_options=self._waiter_options,
            postback=self.postback,
            wait_timeout=self.wait_timeout,
            max_failed_replays=self.max_failed_replays,
            on_export=self.ledger.spend,
        )

    def quota(self) -> QuotaStatus:
        """ClickExport calls used and left in the current quota day (no API call).

        The local ledger counts calls from every process using this cache; the server's
        own headers, when it sent them this quota day, win where they say less is left.
        """
        return self.ledger.status()

    # -- requests and plans ----------------------------------------------------------

    def _request(
        self,
        start: Any,
        end: Any,
        *,
        program_id: Any,
        ad_id: Any,
        sub_id: Any,
        unique: Any,
        scope: Any,
        result_format: Any,
    ) -> Request:
        first = inputs.parse_date(start, "start")
        last = first if end is None else inputs.parse_date(end, "end")
        inputs.check_range(first, last, self.today(), self.settings.max_days)
        filters = Filters(
            program_ids=inputs.parse_ids(program_id, "program_id"),
            ad_ids=inputs.parse_ids(ad_id, "ad_id"),
            sub_ids=inputs.parse_sub_ids(sub_id),
            unique=inputs.parse_unique(unique),
        )
        fmt = self.result_format if result_format is None else inputs.parse_format(result_format)
        return Request(first, last, filters, inputs.parse_scope(scope), fmt)

    def _key(self, day: dt.date, filters: Filters, result_format: str) -> str:
        return request_key(self.account_sid, day, **filters.as_api(), result_format=result_format)

    def _candidates(
        self, day: dt.date, req: Request, *, remote_days: bool = False
    ) -> list[Candidate]:
        """What the cache holds for ``day``; with ``remote_days`` (a shared cache read by
        Dask from its bucket) a day the team holds counts without mirroring it here."""
        formats = [req.result_format] + [f for f in schema.RESULT_FORMATS if f != req.result_format]
        keys = [(self._key(day, Filters(), f), True) for f in formats]
        if req.scope == "exact" and not req.filters.is_empty:
            keys.append((self._key(day, req.filters, req.result_format), False))
        candidates = []
        for k, whole in keys:
            record = self.cache.job(k)
            if remote_days and isinstance(self.cache, SharedCache):
                present = self.cache.has_day(k, record)
            else:
                present = self.cache.day_path(k).exists()
            candidates.append(Candidate(k, record, present, whole))
        if req.scope == "exact":
            # A whole day that lacks a column the filters read cannot answer locally.
            needed = filter_columns(req.filters)
            candidates = [c for c in candidates if not (c.whole_day and needed & _missing(c))]
        return candidates

    def _plan(
        self,
        req: Request,
        fetch: str,
        *,
        include_today: bool = False,
        reserve: int = 0,
        remote_days: bool = False,
    ) -> Plan:
        """Plan ``req`` against the cache and the quota; ``reserve`` exports are kept back."""
        now = self.now()
        exact = req.scope == "exact" and not req.filters.is_empty
        day_plans = []
        for day in date_range(req.start, req.end):
            export_filters = req.filters if exact else Filters()
            day_plans.append(
                plan_day(
                    day,
                    self._candidates(day, req, remote_days=remote_days),
                    self._key(day, export_filters, req.result_format),
                    final=is_final(day, now, self.settings.timezone, self.settings.settle_delay),
                    export_whole_day=not exact,
                    guard=lambda record: replay_refusal(
                        record,
                        now,
                        min_interval=self.min_refresh_interval,
                        max_per_day=self.max_replays_per_day,
                        quota_timezone=self.settings.quota_timezone,
                    ),
                )
            )
        quota = self.quota()
        if reserve:
            quota = dataclasses.replace(quota, remaining=max(quota.remaining - reserve, 0))
        return make_plan(
            req.start,
            req.end,
            scope=req.scope,
            filters=req.filters,
            day_plans=day_plans,
            quota=quota,
            fetch="fits" if fetch == "fits" else "all",
            include_today=include_today,
        )

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
        req = self._request(
            start, end, program_id=program_id, ad_id=ad_id, sub_id=sub_id, unique=unique,
            scope=scope, result_format=result_format,
        )  # fmt: skip
        return self._plan(
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
        req = self._request(
            start, end, program_id=program_id, ad_id=ad_id, sub_id=sub_id, unique=unique,
            scope=scope, result_format=result_format,
        )  # fmt: skip
        engine = inputs.parse_choice(engine, "engine", ("pandas", "dask"))  # type: ignore[assignment]
        if engine == "dask":
            from clickkit.daskframe import require_dask

            require_dask()  # before anything is spent
        fetch_mode = inputs.parse_choice(fetch, "fetch", ("all", "fits"))
        include = _flag(include_today, "include_today")
        before = self.ledger.calls()
        show = self.progress if progress is None else progress
        # Dask reads a shared cache's days from its bucket: none is mirrored here to plan.
        remote = engine == "dask" and isinstance(self.cache, SharedCache)
        plan, sources = self._carry_out(
            req, fetch_mode, show, timeout, include_today=include, remote_days=remote
        )
        spent = self.ledger.calls() - before
        options = {"fetch": fetch_mode, "include_today": include}
        if engine == "dask":
            from clickkit.daskframe import dask_frame

            provenance = self._provenance(plan, req, sources, spent, **options)
            lazy = self._shared_dask_frame(plan, req, timeout)
            if lazy is None:
                self._fetcher().ensure_days(plan, timeout)
                files = {d.date: self.cache.day_path(d.key) for d in plan.days}
                lazy = dask_frame(files, req.filters, self.settings.timezone)
            warn_about(plan, provenance)
            return lazy
        tables = self._fetcher().load_days(plan, req, timeout)
        # load_days gives one table per day, in date order.
        dates = sorted(d.date for d in plan.days)
        returned = {day: table.num_rows for day, table in zip(dates, tables, strict=True)}
        provenance = self._provenance(plan, req, sources, spent, returned=returned, **options)
        frame = frames.user_frame(_concat(tables), self.settings.timezone)
        frame.attrs["clickkit"] = provenance
        warn_about(plan, provenance)
        return frame

    def _shared_dask_frame(
        self, plan: Plan, req: Request, timeout: float | None
    ) -> dask.dataframe.DataFrame | None:
        """A Dask frame reading the days from a shared cache's bucket, or ``None``.

        ``None`` for a local cache, and when the bucket is unreachable (then the days
        are read through the local mirror, as for a local cache).
        """
        from clickkit.daskframe import dask_frame

        if not isinstance(self.cache, SharedCache):
            return None
        try:
            self._fetcher().ensure_days(plan, timeout, remote=True)
            files = {d.date: self.cache.day_object(d.key) for d in plan.days}
            return dask_frame(
                files, req.filters, self.settings.timezone, store=self.cache.arrow_s3()
            )
        except BucketUnreachable as exc:
            log.warning("%s; the Dask frame reads the days from the local mirror %s",
                        str(exc).rstrip("."), self.cache.root)  # fmt: skip
            return None

    def _carry_out(
        self,
        req: Request,
        fetch: str,
        show: bool,
        timeout: float | None,
        *,
        include_today: bool = False,
        reserve: int = 0,
        remote_days: bool = False,
    ) -> tuple[Plan, dict[str, str]]:
        """Plan and execute until nothing is left to do; return the last plan and sources.

        A second round runs only when the first left work a plan can see only now: a
        resumed result that turned out provisional for a day that has closed (replayed
        now, if the guards allow), or a provisional day whose job was gone (exported
        again). ``reserve`` exports of the quota day are never planned nor reserved.
        """
        sources: dict[str, str] = {}
        options = {"include_today": include_today, "reserve": reserve, "remote_days": remote_days}
        plan = self._plan(req, fetch, **options)
        for attempt in range(3):
            if attempt and not any(d.action in ("export", "replay") for d in plan.days):
                break
            busy = show and any(d.action != "cache" for d in plan.days)
            try:
                with (
                    self.ledger.reserved(plan, fetch, reserve=reserve) as plan,
                    progress_bar(len(plan.days), busy) as bar,
                ):
                    done = self._fetcher().execute(plan, req, bar, timeout)
            except JobLost as lost:
                # Jobs the API forgot: their days are planned again (at most twice).
                if attempt == 2:
                    raise
                log.warning("%s; planning %s again", lost, ", ".join(lost.dates))
            else:
                sources.update({k: v for k, v in done.items() if v != "cache" or k not in sources})
                if all(d.action == "cache" for d in plan.days):
                    break  # served from the cache: nothing changed that a new plan could see
            plan = self._plan(req, fetch, **options)
        return plan, sources

    def _provenance(
        self,
        plan: Plan,
        req: Request,
        sources: Mapping[str, str],
        spent: Mapping[str, int],
        **options: Any,
    ) -> dict[str, Any]:
        """``df.attrs["clickkit"]`` from the plan, the days' records as cached now, the report."""
        records = {d.key: self.cache.job(d.key) for d in plan.days}
        return build_provenance(
            plan, req, records=records, sources=sources, spent=spent,
            account_sid=self.account_sid, timezone=self.settings.timezone, **options,
        )  # fmt: skip

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
        req = self._request(
            start, end, program_id=program_id, ad_id=ad_id, sub_id=sub_id, unique=unique,
            scope=scope, result_format=result_format,
        )  # fmt: skip
        show = self.progress if progress is None else _flag(progress, "progress")
        return backfill(
            self, req, reserve=kept, wait=wait, progress=show, timeout=timeout, sleep=sleep
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

        def record(job_id: str) -> None:
            # The export is the whole day in CSV: exactly what clicks() would ask for.
            day_plan = DayPlan(day, "export", self._key(day, Filters(), "CSV"), None, False, True)
            req = Request(day, day, Filters(), "day", "CSV")
            at = self.now()
            self.cache.put_job(
                day_plan.key, self._fetcher()._record(day_plan, req, job_id, "QUEUED", at)
            )

        with tempfile.TemporaryDirectory(prefix="clickkit-doctor-", dir=workdir) as scratch:
            return run_doctor(
                self.api,
                timezone=timezone or self.settings.timezone,
                spend_one=day,
                confirm=confirm,
                quota_left=self.quota().remaining,
                on_submit=record,
                now=self.now,
                poll_initial=self._waiter_options["poll_initial"],
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
        import pandas as pd

        records = [r for r in self.cache.jobs() if r.get("account") == self.account_sid]
        if check:
            for record in records:
                if record.get("pending"):
                    job = self.api.get_job(record["job_id"])
                    record.update(self.cache.update_job(record["key"], status=job.status))
        rows = []
        for r in sorted(records, key=lambda r: (r.get("date", ""), r.get("key", ""))):
            result = r.get("result") or {}
            rows.append(
                {
                    "date": r.get("date"),
                    "job_id": r.get("job_id"),
                    "status": r.get("status"),
                    "pending": bool(r.get("pending")),
                    "filters": str(r.get("filters") or "whole day"),
                    "format": r.get("result_format"),
                    "submitted_at": r.get("submitted_at"),
                    "fetched_at": result.get("fetched_at"),
                    "final": bool(result.get("final")),
                    "rows": result.get("rows"),
                    "replays": r.get("replays", 0),
                }
            )
        columns = ["date", "job_id", "status", "pending", "filters", "format",
                   "submitted_at", "fetched_at", "final", "rows", "replays"]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)

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
        req = self._request(
            day, None, program_id=program_id, ad_id=ad_id, sub_id=sub_id, unique=unique,
            scope=scope, result_format=None,
        )  # fmt: skip
        candidates = [
            c for c in self._candidates(req.start, req) if c.record and c.record.get("job_id")
        ]
        if not candidates:
            raise RefreshRefused(
                f"nothing is cached for {req.start}: load it with clicks() first (a refresh "
                "replays an existing job and never starts a new export)."
            )
        before = self.ledger.calls()
        key, record = candidates[0].key, dict(candidates[0].record or {})
        job_id, whole_day = record.get("job_id"), candidates[0].whole_day
        if record.get("pending"):
            job = self.api.get_job(record["job_id"])
            if job.status in ("QUEUED", "RUNNING", "ERROR"):
                raise RefreshRefused(
                    f"the job for {req.start} is {job.status}; a replay now would be refused. "
                    "Wait for it to finish (clicks() resumes it)."
                )
            record["pending"] = False  # finished: the next clicks() call ingests it
        refusal = replay_refusal(
            record, self.now(), min_interval=self.min_refresh_interval,
            max_per_day=self.max_replays_per_day, quota_timezone=self.settings.quota_timezone,
        )  # fmt: skip
        if refusal:
            raise RefreshRefused(
                f"{req.start} is not replayed: {refusal}. impact.com asks not to replay right "
                "after a run, nor many times a day (min_refresh_interval, max_replays_per_day)."
            )
        if (record.get("result") or {}).get("final") and not force:
            raise RefreshRefused(
                f"{req.start} was already final when it was fetched, so a replay cannot change "
                "it. Pass force=True to replay it anyway (for example after impact.com "
                "corrected data)."
            )
        with self.cache.lock(key):
            final = is_final(
                req.start, self.now(), self.settings.timezone, self.settings.settle_delay
            )
            self._fetcher().replay(key, final_replay=final)
        with progress_bar(1, self.progress) as bar:
            self._fetcher().wait([key], bar, timeout)
        table = self.cache.read_day(key, self.cache.job(key))
        if whole_day and not req.filters.is_empty:
            table = schema.filter_table(table, **local_filters(req.filters))
        frame = frames.user_frame(table, self.settings.timezone)
        # The same provenance as clicks() gives, for the one replayed day.
        day_plan = DayPlan(req.start, "replay", key, job_id, True, whole_day)
        plan = dataclasses.replace(self._plan(req, "all"), days=(day_plan,))
        spent = self.ledger.calls() - before
        frame.attrs["clickkit"] = self._provenance(
            plan, req, {key: "replay"}, spent, returned={req.start: len(frame)}
        )
        return frame


def _flag(value: Any, name: str) -> bool:
    """``value`` if it is True or False, else InvalidRequestError naming ``name``."""
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{name}={value!r} must be True or False.")
    return value


def _missing(candidate: Candidate) -> set[str]:
    """Schema columns the candidate's cached export did not carry."""
    result = (candidate.record or {}).get("result") or {}
    return set(result.get("missing") or ())


def _concat(tables: list[pa.Table]) -> pa.Table:
    return schema.concat_tables(tables)
