"""The thin HTTP layer over impact.com's Partner API (or the local sandbox).

One method per endpoint, nothing more: it knows auth, base URL, ``IR-Version``, JSON,
the error envelope, rate-limit headers and retries of transient failures. It does not
cache, plan, or wait for jobs; every HTTP attempt is reported to an optional observer
so the caller can keep a usage ledger.

Examples
--------
>>> api = ImpactApi("IRxxxx", "token", base_url="http://127.0.0.1:8080")  # doctest: +SKIP
>>> sub = api.submit_click_export(datetime.date(2026, 10, 1))  # doctest: +SKIP
>>> api.get_job(sub.job_id).status  # doctest: +SKIP
'QUEUED'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import ipaddress
import json
import logging
import random
import re
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from clickkit._version import __version__
from clickkit.errors import (
    ApiError,
    AuthenticationError,
    DownloadError,
    ExportOutcomeUnknown,
    NotFoundError,
    NotReplayableError,
    RateLimited,
    ServerError,
    ValidationError,
)
from clickkit.files import atomic_write

log = logging.getLogger("clickkit")

DEFAULT_BASE_URL = "https://api.impact.com"
DEFAULT_IR_VERSION = "16"
# 500 is retried too: every call here is idempotent or deduplicated by the server (an
# identical ClickExport returns the same job), so a retry costs no more than giving up.
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
# A paged JSON/XML result names its page count near the top of the file.
_NUMPAGES = re.compile(rb'"@numpages"\s*:\s*"?(\d+)|\bnumpages\s*=\s*"(\d+)"')
_TOTAL = re.compile(rb'"@total"\s*:\s*"?(\d+)|\btotal\s*=\s*"(\d+)"')


# ---------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, as reported to the observer.

    Attributes
    ----------
    endpoint : str
        ``ClickExport``, ``Job``, ``JobList``, ``Download``, ``Storage`` or ``Replay``.
    status : int or None
        HTTP status, ``None`` when the connection failed.
    elapsed : float
        Seconds the attempt took.
    at : datetime.datetime
        When it was made (UTC, real clock).
    """

    endpoint: str
    status: int | None
    elapsed: float
    at: dt.datetime


@dataclass
class RateLimitState:
    """The latest rate-limit headers the server sent (``None`` where it sent none)."""

    limit_hour: int | None = None
    remaining_hour: int | None = None
    reset_seconds: float | None = None
    limit_day: int | None = None
    remaining_day: int | None = None
    observed_at: dt.datetime | None = None


def _parse_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return None
    return str(value).strip().lower() in ("true", "1", "yes")


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Job:
    """A job as the Jobs API describes it; numbers and booleans may arrive as strings.

    Examples
    --------
    >>> Job.from_api({"Id": "j1", "Status": "RUNNING", "PercentageComplete": "40"}).percent
    40
    """

    id: str
    status: str
    type: str = ""
    status_message: str = ""
    records_processed: int | None = None
    percent: int | None = None
    replayable: bool | None = None
    created: dt.datetime | None = None
    started: dt.datetime | None = None
    completed: dt.datetime | None = None
    failed: dt.datetime | None = None
    cancelled: dt.datetime | None = None
    result_uri: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Job:
        """Build a Job from the API's JSON (or XML-derived) dict."""
        return cls(
            id=str(data.get("Id") or data.get("JobId") or ""),
            status=str(data.get("Status") or "").upper(),
            type=str(data.get("Type") or ""),
            status_message=str(data.get("StatusMessage") or ""),
            records_processed=_parse_int(data.get("RecordsProcessed")),
            percent=_parse_int(data.get("PercentageComplete")),
            replayable=_parse_bool(data.get("Replayable")),
            created=_parse_time(data.get("CreatedDate")),
            started=_parse_time(data.get("StartedDate")),
            completed=_parse_time(data.get("CompletedDate")),
            failed=_parse_time(data.get("FailedDate")),
            cancelled=_parse_time(data.get("CancelledDate")),
            result_uri=str(data.get("ResultUri") or ""),
            raw=dict(data),
        )

    @property
    def done(self) -> bool:
        """True when the job will not change without a replay."""
        return self.status in ("COMPLETED", "FAILED", "CANCELLED")


@dataclass(frozen=True)
class Submission:
    """The answer to a ClickExport call."""

    job_id: str
    status: str
    queued_uri: str
    result_uri: str
    replay_uri: str


@dataclass(frozen=True, repr=False)
class Downloaded:
    """A result that arrived intact: written to disk, or held in memory.

    Attributes
    ----------
    path : Path or None
        Where the file now is (moved there atomically); ``None`` when it was kept in
        memory (:attr:`content`).
    size : int
        Bytes written (after any ``Content-Encoding`` was decoded).
    checksum : str
        blake2b hex digest of the file.
    content_type : str
        The server's ``Content-Type``.
    length_checked : bool
        Whether the server sent a ``Content-Length`` that the bytes on the wire matched;
        without one, a body cut at a row boundary cannot be told from a whole one.
    numpages : int or None
        The page count a paged JSON/XML result names (``@numpages``), else ``None``.
    total : int or None
        The row count a paged result names (``@total``), else ``None``.
    content_encoding : str
        The ``Content-Encoding`` the body arrived with (``""`` for none).
    content : bytes or None
        The decoded body, when it was kept in memory rather than written to ``path``.
    """

    path: Path | None
    size: int
    checksum: str
    content_type: str
    length_checked: bool = True
    numpages: int | None = None
    total: int | None = None
    content_encoding: str = ""
    content: bytes | None = None

    def __repr__(self) -> str:
        where = "in memory" if self.path is None else str(self.path)
        return f"<Downloaded {where}: {self.size:,} bytes, {self.content_type!r}>"

    def read(self) -> bytes:
        """The result's bytes, from memory or from its file.

        Examples
        --------
        >>> Downloaded(None, 5, "...", "text/csv", content=b"Id,Os").read()
        b'Id,Os'
        """
        if self.content is None and self.path is not None:
            return self.path.read_bytes()
        return self.content or b""


@dataclass(frozen=True)
class NotReady:
    """Download answered 202: the job is not finished; ``job`` is its current state."""

    job: Job


# ---------------------------------------------------------------------------------------
# Parsing answers


def _xml_to_dict(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    tags = [c.tag for c in children]
    if len(set(tags)) == 1 and len(tags) > 1:
        return [_xml_to_dict(c) for c in children]
    return {c.tag: _xml_to_dict(c) for c in children}


def _body(response: requests.Response) -> Any:
    """The decoded body: JSON, or XML (``ImpactRadiusResponse``) turned into dicts."""
    content_type = response.headers.get("Content-Type", "")
    text = response.content
    if not text:
        return {}
    if "json" in content_type or text.lstrip()[:1] in (b"{", b"["):
        try:
            return response.json()
        except ValueError:
            return {}
    if "xml" in content_type or text.lstrip()[:1] == b"<":
        try:
            return _xml_to_dict(ET.fromstring(text))
        except ET.ParseError:
            return {}
    return {}


def _envelope_message(body: Any) -> str:
    if isinstance(body, Mapping):
        for key in ("Message", "message", "error", "Error"):
            if body.get(key):
                return str(body[key])
    return ""


def _envelope_errors(body: Any) -> list[dict[str, Any]]:
    errors = body.get("Errors") if isinstance(body, Mapping) else None
    if isinstance(errors, Mapping):  # XML: <Errors><Error>..</Error></Errors>
        errors = list(errors.values())
    if isinstance(errors, list):
        return [e for e in errors if isinstance(e, Mapping)]
    return []


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from ``Retry-After``, ``RateLimit-Reset`` or ``X-RateLimit-Reset``.

    ``X-RateLimit-Reset`` may be an epoch timestamp (brand API); it is turned into a delay.

    Examples
    --------
    >>> retry_after_seconds({"Retry-After": "700"})
    700.0
    """
    for name in ("Retry-After", "RateLimit-Reset", "X-RateLimit-Reset"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds > 1e9:  # an epoch, not a delay
            seconds -= now if now is not None else time.time()
        return max(seconds, 0.0)
    return None


# ---------------------------------------------------------------------------------------
# The client


class ImpactApi:
    """HTTP client for the ClickExport and Jobs endpoints.

    Parameters
    ----------
    account_sid : str
        The partner Account SID (HTTP Basic user name, and part of every path).
    auth_token : str
        The Auth Token (HTTP Basic password). Kept only in the session's auth.
    base_url : str
        ``https://api.impact.com`` or a sandbox URL.
    ir_version : str
        Sent as the ``IR-Version`` header.
    timeout : float or (float, float)
        ``requests`` timeout (connect, read) in seconds.
    max_retries : int
        Retries of connection errors and 500/502/503/504 answers.
    max_sleep : float
        The longest ``Retry-After`` wait that is slept through; longer waits raise
        :class:`~clickkit.errors.RateLimited`.
    observer : callable, optional
        Called with a :class:`CallRecord` for every HTTP attempt.
    sleep : callable
        The sleep function (tests pass a recorder).

    Examples
    --------
    >>> api = ImpactApi("IRabc", "secret", base_url="http://127.0.0.1:1")
    >>> "secret" in repr(api)
    False
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        ir_version: str = DEFAULT_IR_VERSION,
        timeout: float | tuple[float, float] = (10.0, 120.0),
        max_retries: int = 4,
        max_sleep: float = 60.0,
        observer: Callable[[CallRecord], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        proxies: Mapping[str, str] | None = None,
        verify: bool | str | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.base_url = base_url.rstrip("/")
        self.ir_version = ir_version
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_sleep = max_sleep
        self.observer = observer
        self.rate_limit = RateLimitState()
        self._sleep = sleep
        self._session = requests.Session()
        self._session.auth = (account_sid, auth_token)
        self._session.headers.update(
            {
                "Accept": "application/json",
                "IR-Version": str(ir_version),
                "User-Agent": f"clickkit/{__version__}",
            }
        )
        # Signed storage URLs get a session of their own: it has no credentials at all.
        # It asks for gzip only, which _save decodes itself so that a compressed body is
        # measured by the bytes on the wire and still verified end to end.
        self._storage = requests.Session()
        self._storage.headers["User-Agent"] = f"clickkit/{__version__}"
        self._storage.headers["Accept-Encoding"] = "gzip"
        # HTTPS_PROXY / NO_PROXY / REQUESTS_CA_BUNDLE from the environment apply (a
        # corporate network needs them); explicit settings win over them.
        for session in (self._session, self._storage):
            if proxies is not None:
                session.proxies.update(proxies)
            if verify is not None:
                session.verify = verify

    def _send(self, session: requests.Session, method: str, url: str, **kw: Any) -> Any:
        """One HTTP request; loopback hosts (the sandbox) never go through a proxy."""
        if _is_loopback(url):
            kw["proxies"] = {"http": None, "https": None, "all": None}
        return session.request(method, url, **kw)

    def __repr__(self) -> str:
        return f"ImpactApi(account_sid={self.account_sid!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP sessions."""
        self._session.close()
        self._storage.close()

    @contextlib.contextmanager
    def response_hook(self, hook: Callable[..., Any]) -> Iterator[None]:
        """Call ``hook(response, **kwargs)`` on every raw answer of the API host meanwhile.

        A ``requests`` response hook: it sees the status and headers before this class
        parses them (``clickkit doctor`` reports their raw shape). Signed storage URLs
        are not included. The hook must not change the response.

        Examples
        --------
        >>> statuses = []
        >>> def note(response, **kwargs):
        ...     statuses.append(response.status_code)
        >>> with api.response_hook(note):  # doctest: +SKIP
        ...     api.list_jobs()
        """
        hooks = self._session.hooks.setdefault("response", [])
        hooks.append(hook)
        try:
            yield
        finally:
            hooks.remove(hook)

    # -- plumbing ------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/"):
            path = f"/Mediapartners/{self.account_sid}/{path}"
        return self.base_url + path

    def _record(self, endpoint: str, status: int | None, started: float) -> None:
        elapsed = time.monotonic() - started
        log.debug("%s -> %s in %.3fs", endpoint, status, elapsed)
        if self.observer is not None:
            self.observer(CallRecord(endpoint, status, elapsed, dt.datetime.now(dt.UTC)))

    def _note_rate_limit(self, headers: Mapping[str, str]) -> None:
        state = self.rate_limit
        seen = False
        for attr, names in (
            ("limit_hour", ("X-RateLimit-Limit-hour", "X-RateLimit-Limit")),
            ("remaining_hour", ("X-RateLimit-Remaining-hour", "X-RateLimit-Remaining")),
            ("limit_day", ("X-RateLimit-Limit-day",)),
            ("remaining_day", ("X-RateLimit-Remaining-day",)),
        ):
            for name in names:
                if name in headers:
                    setattr(state, attr, _parse_int(headers[name]))
                    seen = True
                    break
        reset = None
        for name in ("RateLimit-Reset", "X-RateLimit-Reset"):
            if name in headers:
                reset = retry_after_seconds({name: headers[name]})
                break
        if reset is not None:
            state.reset_seconds = reset
            seen = True
        if seen:
            state.observed_at = dt.datetime.now(dt.UTC)

    def _backoff(self, attempt: int) -> float:
        # Full jitter keeps several kernels from retrying in lockstep.
        return random.uniform(0, min(8.0, 0.5 * 2**attempt))

    def _request(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        params: Iterable[tuple[str, str]] | None = None,
        allow_statuses: Iterable[int] = (),
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> requests.Response:
        """Send one logical call with bounded retries; raise mapped errors.

        With ``retry=False`` (ClickExport), a dropped connection, a timeout or a 5xx is
        not sent again: the server may have acted on it, so it raises
        :class:`~clickkit.errors.ExportOutcomeUnknown` for the caller to resolve.
        """
        allowed = set(allow_statuses)
        url = self._url(path)
        params = list(params or ())
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = self._send(
                    self._session,
                    method,
                    url,
                    params=params,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=stream,
                    headers=headers,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._record(endpoint, None, started)
                if not retry:
                    raise ExportOutcomeUnknown(
                        f"{endpoint}: the answer was lost ({type(exc).__name__}); the call "
                        "may have reached impact.com.",
                        endpoint=endpoint,
                    ) from None
                if attempt < self.max_retries:
                    self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise ServerError(
                    f"{endpoint}: no answer from {self.base_url} after {attempt + 1} attempts "
                    f"({type(exc).__name__}). Check the network or try again later.",
                    endpoint=endpoint,
                ) from None
            # Headers first: the observer reads them to keep the quota ledger true.
            self._note_rate_limit(response.headers)
            self._record(endpoint, response.status_code, started)
            status = response.status_code
            if status < 400 or status in allowed:
                return response
            if status >= 500 and not retry:
                response.close()
                raise ExportOutcomeUnknown(
                    f"{endpoint}: server error ({status}); the call may have reached impact.com.",
                    status=status,
                    endpoint=endpoint,
                )
            if status in RETRYABLE_STATUS and attempt < self.max_retries:
                response.close()
                self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            if status == 429:
                wait = retry_after_seconds(response.headers)
                if wait is not None and wait <= self.max_sleep and attempt < self.max_retries:
                    response.close()
                    log.info("%s rate limited; sleeping %.0fs as the server asked", endpoint, wait)
                    self._sleep(wait)
                    attempt += 1
                    continue
            raise self._error(endpoint, response)

    def _error(self, endpoint: str, response: requests.Response) -> ApiError:
        status = response.status_code
        body = _body(response)
        api_message = _envelope_message(body)
        said = f": {api_message}" if api_message else ""
        kw: dict[str, Any] = {"status": status, "endpoint": endpoint, "api_message": api_message}
        if status == 400:
            errors = _envelope_errors(body)
            fields = "; ".join(f"{e.get('Field')}: {e.get('Message')}" for e in errors)
            return ValidationError(
                f"{endpoint} refused the parameters (400){said}"
                + (f" [{fields}]" if fields else "")
                + ". Fix the named parameters and call again.",
                errors=errors,
                **kw,
            )
        if status == 401:
            return AuthenticationError(
                f"{endpoint}: authentication failed (401){said}. Check the Account SID and "
                "Auth Token (IMPACT_ACCOUNT_SID / IMPACT_AUTH_TOKEN).",
                **kw,
            )
        if status == 403 and endpoint == "Replay":
            return NotReplayableError(
                f"Replay refused (403){said}. The job is queued or running, or cannot be "
                "replayed; wait until it is finished.",
                **kw,
            )
        if status == 403:
            return AuthenticationError(
                f"{endpoint}: access denied (403){said}. The token may be disabled, scoped "
                "without this endpoint, or for another account.",
                **kw,
            )
        if status == 404:
            return NotFoundError(
                f"{endpoint}: not found (404){said}. The job or its result does not exist "
                "(results are kept for a limited time).",
                **kw,
            )
        if status == 429:
            wait = retry_after_seconds(response.headers) or 0.0
            return RateLimited(
                f"{endpoint}: rate limited (429){said}. Try again in {wait:.0f} s "
                f"(at {_at(wait)}).",
                retry_after=wait,
                **kw,
            )
        if status >= 500:
            return ServerError(
                f"{endpoint}: server error ({status}){said}. impact.com had a problem; try "
                "again later.",
                **kw,
            )
        return ApiError(f"{endpoint}: unexpected answer ({status}){said}.", **kw)

    # -- endpoints -----------------------------------------------------------------------

    def submit_click_export(
        self,
        date: dt.date,
        *,
        program_ids: Iterable[int | str] = (),
        ad_ids: Iterable[int | str] = (),
        sub_ids: Iterable[str] = (),
        unique: bool | None = None,
        result_format: str = "CSV",
    ) -> Submission:
        """``GET ClickExport``: schedule (or find, for identical parameters) a day's export.

        ``Date`` is always sent explicitly; the API's "today" default is never relied on.
        """
        params: list[tuple[str, str]] = [("Date", date.isoformat())]
        params += [("ProgramId", str(v)) for v in program_ids]
        params += [("AdId", str(v)) for v in ad_ids]
        params += [("SubId", str(v)) for v in sub_ids]
        if unique is not None:
            params.append(("UniqueClick", "TRUE" if unique else "FALSE"))
        params.append(("ResultFormat", result_format.upper()))
        try:
            response = self._request(
                "GET", "ClickExport", "ClickExport", params=params, retry=False
            )
            body = _body(response)
        except requests.RequestException:
            raise ExportOutcomeUnknown(
                "ClickExport: the answer was cut off; the call may have reached impact.com.",
                endpoint="ClickExport",
            ) from None
        queued = str(body.get("QueuedUri") or "")
        job_id = queued.rstrip("/").rsplit("/", 1)[-1] if queued else str(body.get("Id") or "")
        if not job_id:
            raise ApiError(
                "ClickExport answered without a job (no QueuedUri). Try again later.",
                status=response.status_code,
                endpoint="ClickExport",
            )
        return Submission(
            job_id=job_id,
            status=str(body.get("Status") or "QUEUED").upper(),
            queued_uri=queued,
            result_uri=str(body.get("ResultUri") or f"{queued}/Download"),
            replay_uri=str(body.get("ReplayUri") or f"{queued}/Replay"),
        )

    def get_job(self, job_id: str) -> Job:
        """``GET Jobs/{id}``."""
        return Job.from_api(_body(self._request("GET", f"Jobs/{job_id}", "Job")))

    def list_jobs(
        self,
        created_after: dt.date | None = None,
        created_before: dt.date | None = None,
        *,
        max_pages: int = 50,
    ) -> list[Job]:
        """``GET Jobs``, every page; accepts both ``{"Jobs": [...]}`` and a bare list.

        A paged answer (``@nextpageuri``, or ``@page``/``@numpages``) is followed to its
        last page, at most ``max_pages`` calls, each counted as ``JobList``.

        Examples
        --------
        >>> api.list_jobs(created_after=datetime.date(2026, 11, 20))  # doctest: +SKIP
        [Job(id='...', status='COMPLETED', ...), ...]
        """
        params = []
        if created_after:
            params.append(("CreatedAfter", created_after.isoformat()))
        if created_before:
            params.append(("CreatedBefore", created_before.isoformat()))
        found: dict[str, Job] = {}
        path, query = "Jobs", params
        seen_pages: set[str] = set()
        for number in range(1, max_pages + 1):
            body = _body(self._request("GET", path, "JobList", params=query))
            items = body.get("Jobs", []) if isinstance(body, Mapping) else body
            if isinstance(items, Mapping):  # XML: <Jobs><Job>..</Job></Jobs> with one job
                items = list(items.values()) if "Id" not in items else [items]
            for item in items or []:
                if isinstance(item, Mapping):
                    job = Job.from_api(item)
                    found.setdefault(job.id, job)  # a job moving pages is kept once
            following = _next_page(body, number)
            if following is None or following in seen_pages:
                break
            seen_pages.add(following)
            if following.startswith("Page="):
                path, query = "Jobs", [*params, ("Page", following.removeprefix("Page="))]
            else:
                path, query = following, []
        return list(found.values())

    def replay(self, job_id: str) -> Job:
        """``PUT Jobs/{id}/Replay`` with an empty body."""
        response = self._request(
            "PUT", f"Jobs/{job_id}/Replay", "Replay", headers={"Content-Length": "0"}
        )
        body = _body(response)
        job = Job.from_api(body) if isinstance(body, Mapping) else Job(job_id, "QUEUED")
        return job if job.id else Job(job_id, job.status or "QUEUED")

    def download(
        self,
        job_id: str,
        dest: str | Path | None = None,
        *,
        stream: bool = False,
        page: int | None = None,
    ) -> Downloaded | NotReady:
        """``GET Jobs/{id}/Download`` into ``dest``, or :class:`NotReady` on 202.

        ``page`` asks for one page of a paged JSON/XML result (``Page=N``); the first
        page names the page count in :attr:`Downloaded.numpages`.

        Follows the 302 to the signed storage URL with a session that carries no
        credentials. The file is streamed to a temporary file beside ``dest``, its size
        checked against ``Content-Length``, and renamed into place only when intact.
        Without ``dest`` the body is kept in memory (:attr:`Downloaded.content`), with
        the same checks: for a result that is parsed at once, a file to write, flush and
        read back is only overhead.

        Raises
        ------
        DownloadError
            The body was cut short, the link had expired, or an HTML page came back.
        """
        params = [("Mode", "Stream")] if stream else []
        if page is not None:
            params.append(("Page", str(page)))
        response = self._request(
            "GET",
            f"Jobs/{job_id}/Download",
            "Download",
            params=params,
            stream=True,
            headers={"Accept": "application/octet-stream, application/json;q=0.9, */*;q=0.8"},
        )
        small = _small_body(response)
        job_body = _job_body(small) if small is not None else None
        if response.status_code == 202 or job_body is not None:
            # 202 is "not finished"; a 200 carrying the Job itself (no file) is how some
            # servers answer for a job that has no result (FAILED/CANCELLED).
            body = job_body if job_body is not None else _body(response)
            job = Job.from_api(body) if isinstance(body, Mapping) else Job(job_id, "RUNNING")
            return NotReady(job if job.id else Job(job_id, job.status or "RUNNING"))
        if response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("Location", "")
            response.close()
            if not location:
                raise DownloadError("Download redirected without a Location.", endpoint="Download")
            return self._fetch_storage(
                urljoin(self._url(f"Jobs/{job_id}/Download"), location), dest
            )
        return _save(response, dest, "Download", content=small)

    def _fetch_storage(self, url: str, dest: str | Path | None) -> Downloaded:
        host = urlsplit(url).netloc
        started = time.monotonic()
        try:
            response = self._send(self._storage, "GET", url, stream=True, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            self._record("Storage", None, started)
            raise DownloadError(
                f"the result host {host} did not answer ({type(exc).__name__}); the download "
                "is retried on the next call.",
                endpoint="Storage",
            ) from None
        self._record("Storage", response.status_code, started)
        if response.status_code != 200:
            status = response.status_code
            response.close()
            raise DownloadError(
                f"the signed result link answered {status}"
                + (" (expired or refused)" if status in (400, 403) else "")
                + "; a fresh link is requested on the next attempt.",
                status=status,
                endpoint="Storage",
            )
        return _save(response, dest, "Storage")


def _next_page(body: Any, number: int) -> str | None:
    """Where the page after ``number`` of a list answer is: a URI, ``"Page=N"`` or None."""
    if not isinstance(body, Mapping):
        return None
    uri = str(body.get("@nextpageuri") or body.get("@NextPageUri") or "").strip()
    if uri:
        return uri
    pages = _parse_int(body.get("@numpages"))
    page = _parse_int(body.get("@page")) or number
    if pages is not None and page < pages:
        return f"Page={page + 1}"
    return None


def _at(seconds: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _small_body(response: requests.Response) -> bytes | None:
    """The body of a 200 Download answer that may be a Job object rather than a file.

    Only small JSON/XML answers without an attachment name are read here; anything else
    is left to stream.
    """
    if response.status_code != 200 or response.headers.get("Content-Disposition"):
        return None
    content_type = response.headers.get("Content-Type", "")
    length = _parse_int(response.headers.get("Content-Length"))
    if not ("json" in content_type or "xml" in content_type) or length is None:
        return None
    return response.content if length <= 64_000 else None


def _job_body(content: bytes) -> Mapping[str, Any] | None:
    """The Job a small answer holds, or ``None`` when it is a result file."""
    stripped = content.lstrip()
    try:
        body = json.loads(content) if stripped[:1] == b"{" else None
        if stripped[:1] == b"<":
            body = _xml_to_dict(ET.fromstring(content))
    except (ValueError, ET.ParseError):
        return None
    if isinstance(body, Mapping) and "Status" in body and "Clicks" not in body:
        return body
    return None


def _pages(head: bytes) -> tuple[int | None, int | None]:
    """``@numpages`` and ``@total`` named near the top of a paged JSON/XML result."""
    pages = _NUMPAGES.search(head)
    total = _TOTAL.search(head)
    return (
        int(next(g for g in pages.groups() if g)) if pages else None,
        int(next(g for g in total.groups() if g)) if total else None,
    )


_STREAM_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError, zlib.error)


def _save(
    response: requests.Response,
    dest: str | Path | None,
    endpoint: str,
    *,
    content: bytes | None = None,
) -> Downloaded:
    """Stream a response body to ``dest`` atomically, or into memory without one.

    Either way it must arrive whole: the bytes on the wire are checked against
    ``Content-Length``; a gzip body is decoded here and must end with gzip's own end
    marker (its checksum is verified by zlib).
    """
    content_type = response.headers.get("Content-Type", "")
    if "text/html" in content_type:
        response.close()
        raise DownloadError(
            "the download returned an HTML page instead of a file; try again later.",
            status=response.status_code,
            endpoint=endpoint,
        )
    expected = _parse_int(response.headers.get("Content-Length"))
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    # requests has already decoded a body it read whole (``content``).
    gzipped = encoding in ("gzip", "x-gzip") and content is None
    digest = hashlib.blake2b(digest_size=32)
    head = bytearray()

    def cut_short(what: str) -> DownloadError:
        return DownloadError(
            f"the download was cut short: {what}; it is retried on the next attempt.",
            endpoint=endpoint,
        )

    def stream(out: BinaryIO) -> int:
        size = wire = 0
        decoder = zlib.decompressobj(wbits=31) if gzipped else None
        # Undecoded bytes when gzip is ours to decode; other encodings are left to urllib3.
        chunks: Iterable[bytes] = (
            [content]
            if content is not None
            else response.raw.stream(1 << 20, decode_content=not gzipped)
        )
        try:
            for chunk in chunks:
                wire += len(chunk)
                data = decoder.decompress(chunk) if decoder else chunk
                out.write(data)
                digest.update(data)
                size += len(data)
                if len(head) < 4096:
                    head.extend(data[: 4096 - len(head)])
            if decoder is not None:
                tail = decoder.flush()
                out.write(tail)
                digest.update(tail)
                size += len(tail)
        except _STREAM_ERRORS as exc:
            raise cut_short(f"{wire} bytes arrived ({type(exc).__name__})") from None
        if not gzipped and content is None:
            wire = response.raw.tell() or wire
        if expected is not None and wire != expected:
            raise cut_short(f"{wire} of {expected} bytes arrived")
        if decoder is not None and not decoder.eof:
            raise cut_short(f"the gzip stream ended early after {wire} bytes")
        return size

    def to_file(tmp: str) -> int:
        with open(tmp, "wb") as out:
            return stream(out)

    body: bytes | None = None
    try:
        if dest is None:
            buffer = io.BytesIO()
            size = stream(buffer)
            body = buffer.getvalue()
        else:
            size = atomic_write(Path(dest), to_file, suffix=".part")
    finally:
        response.close()
    numpages, total = _pages(bytes(head))
    return Downloaded(
        None if dest is None else Path(dest),
        size,
        digest.hexdigest(),
        content_type,
        length_checked=expected is not None,
        numpages=numpages,
        total=total,
        content_encoding=encoding,
        content=body,
    )
