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

import datetime as dt
import hashlib
import logging
import random
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from clickkit import __version__
from clickkit.errors import (
    ApiError,
    AuthenticationError,
    DownloadError,
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
JOB_STATUSES = ("QUEUED", "RUNNING", "COMPLETED", "ERROR", "FAILED", "CANCELLED")


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


@dataclass(frozen=True)
class Downloaded:
    """A result file written to disk intact.

    Attributes
    ----------
    path : Path
        Where the file now is (moved there atomically).
    size : int
        Bytes written (checked against ``Content-Length`` when sent).
    checksum : str
        blake2b hex digest of the file.
    content_type : str
        The server's ``Content-Type``.
    """

    path: Path
    size: int
    checksum: str
    content_type: str


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
        self._storage = requests.Session()
        self._storage.headers["User-Agent"] = f"clickkit/{__version__}"
        self._storage.trust_env = False
        self._session.trust_env = False

    def __repr__(self) -> str:
        return f"ImpactApi(account_sid={self.account_sid!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP sessions."""
        self._session.close()
        self._storage.close()

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
    ) -> requests.Response:
        """Send one logical call with bounded retries; raise mapped errors."""
        allowed = set(allow_statuses)
        url = self._url(path)
        params = list(params or ())
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = self._session.request(
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
        response = self._request("GET", "ClickExport", "ClickExport", params=params)
        body = _body(response)
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
        self, created_after: dt.date | None = None, created_before: dt.date | None = None
    ) -> list[Job]:
        """``GET Jobs``; accepts both ``{"Jobs": [...]}`` and a bare list."""
        params = []
        if created_after:
            params.append(("CreatedAfter", created_after.isoformat()))
        if created_before:
            params.append(("CreatedBefore", created_before.isoformat()))
        body = _body(self._request("GET", "Jobs", "JobList", params=params))
        items = body.get("Jobs", []) if isinstance(body, Mapping) else body
        if isinstance(items, Mapping):  # XML: <Jobs><Job>..</Job></Jobs> with one job
            items = list(items.values()) if "Id" not in items else [items]
        return [Job.from_api(i) for i in items or [] if isinstance(i, Mapping)]

    def replay(self, job_id: str) -> Job:
        """``PUT Jobs/{id}/Replay`` with an empty body."""
        response = self._request(
            "PUT", f"Jobs/{job_id}/Replay", "Replay", headers={"Content-Length": "0"}
        )
        body = _body(response)
        job = Job.from_api(body) if isinstance(body, Mapping) else Job(job_id, "QUEUED")
        return job if job.id else Job(job_id, job.status or "QUEUED")

    def download(
        self, job_id: str, dest: str | Path, *, stream: bool = False
    ) -> Downloaded | NotReady:
        """``GET Jobs/{id}/Download`` into ``dest``, or :class:`NotReady` on 202.

        Follows the 302 to the signed storage URL with a session that carries no
        credentials. The file is streamed to a temporary file beside ``dest``, its size
        checked against ``Content-Length``, and renamed into place only when intact.

        Raises
        ------
        DownloadError
            The body was cut short, the link had expired, or an HTML page came back.
        """
        params = [("Mode", "Stream")] if stream else []
        response = self._request(
            "GET",
            f"Jobs/{job_id}/Download",
            "Download",
            params=params,
            stream=True,
            headers={"Accept": "application/octet-stream, application/json;q=0.9, */*;q=0.8"},
        )
        if response.status_code == 202:
            body = _body(response)
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
        return _save(response, Path(dest), "Download")

    def _fetch_storage(self, url: str, dest: str | Path) -> Downloaded:
        host = urlsplit(url).netloc
        started = time.monotonic()
        try:
            response = self._storage.get(url, stream=True, timeout=self.timeout)
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
        return _save(response, Path(dest), "Storage")


def _at(seconds: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _save(response: requests.Response, dest: Path, endpoint: str) -> Downloaded:
    """Stream a response body to ``dest`` atomically, verifying its length."""
    content_type = response.headers.get("Content-Type", "")
    if "text/html" in content_type:
        response.close()
        raise DownloadError(
            "the download returned an HTML page instead of a file; try again later.",
            status=response.status_code,
            endpoint=endpoint,
        )
    expected = _parse_int(response.headers.get("Content-Length"))
    digest = hashlib.blake2b(digest_size=32)

    def stream(tmp: str) -> int:
        size = 0
        with open(tmp, "wb") as out:
            try:
                for chunk in response.iter_content(chunk_size=1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            except (requests.RequestException, OSError) as exc:
                raise DownloadError(
                    f"the download was cut short after {size} bytes ({type(exc).__name__}); "
                    "it is retried on the next attempt.",
                    endpoint=endpoint,
                ) from None
        if expected is not None and size != expected:
            raise DownloadError(
                f"the download was cut short: {size} of {expected} bytes arrived; it is "
                "retried on the next attempt.",
                endpoint=endpoint,
            )
        return size

    try:
        size = atomic_write(dest, stream, suffix=".part")
    finally:
        response.close()
    return Downloaded(dest, size, digest.hexdigest(), content_type)
