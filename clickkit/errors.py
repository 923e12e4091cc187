"""The exception hierarchy: every error clickkit raises is a :class:`ClickkitError`.

Each message says what happened and what to do next. No message ever contains the
auth token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any


class ClickkitError(Exception):
    """Base class of every error clickkit raises.

    Errors pickle with their attributes, so they cross process boundaries
    (``multiprocessing``, Dask workers) intact.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[ClickkitError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigurationError(ClickkitError):
    """A setting is missing or invalid (credentials, cache directory, time zone...)."""


class InvalidRequestError(ClickkitError, ValueError):
    """The caller's input was refused before any API call (dates, ids, formats...)."""


class ApiError(ClickkitError):
    """The impact.com API answered with an error.

    Attributes
    ----------
    status : int or None
        The HTTP status code, or ``None`` when no answer arrived.
    endpoint : str
        The endpoint name (``ClickExport``, ``Job``, ``Download``...).
    api_message : str
        The ``Message`` of the API's error envelope, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        endpoint: str = "",
        api_message: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.endpoint = endpoint
        self.api_message = api_message


class AuthenticationError(ApiError):
    """401/403 for the credentials: wrong SID or token, or a token not allowed here."""


class NotFoundError(ApiError):
    """404: the job, result or path does not exist (or is past its retention)."""


class NotReplayableError(ApiError):
    """403 on Replay: the job is queued/running or of a type that cannot be replayed."""


class ValidationError(ApiError):
    """400: the API refused the parameters; ``errors`` lists the field errors."""

    def __init__(self, message: str, *, errors: Sequence[dict[str, Any]] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors = list(errors)


class RateLimited(ApiError):
    """429: a rate limit was hit and the wait is too long to sleep through.

    Attributes
    ----------
    retry_after : float
        Seconds until the limit resets, as the server said.
    """

    def __init__(self, message: str, *, retry_after: float, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx or a connection failure that persisted through the bounded retries."""


class ExportOutcomeUnknown(ServerError):
    """A ClickExport call may have reached impact.com, but no usable answer came back.

    The job may exist (and the export counts toward the daily quota either way), so the
    call is never simply repeated: the caller looks for the job first.
    """


class DownloadError(ApiError):
    """A result file could not be downloaded intact (cut short, expired link, HTML page)."""


class JobFailed(ClickkitError):
    """Jobs ended FAILED/CANCELLED and stayed so after the bounded replays."""

    def __init__(self, message: str, *, job_ids: Sequence[str]) -> None:
        super().__init__(message)
        self.job_ids = list(job_ids)


class JobLost(ClickkitError):
    """Jobs the cache knew are unknown to the API now (past retention, another server).

    Their records are dropped, so the next call plans those days as new exports.
    """

    def __init__(self, message: str, *, job_ids: Sequence[str], dates: Sequence[str]) -> None:
        super().__init__(message)
        self.job_ids = list(job_ids)
        self.dates = list(dates)


class WaitTimeout(ClickkitError):
    """Waiting for jobs took longer than the timeout; the jobs are kept and resume later."""

    def __init__(self, message: str, *, job_ids: Sequence[str]) -> None:
        super().__init__(message)
        self.job_ids = list(job_ids)


class QuotaExhausted(ClickkitError):
    """The plan needs more ClickExport calls than remain in this quota day.

    Raised *before* anything is spent.
    """

    def __init__(
        self,
        message: str,
        *,
        needed: int,
        remaining: int,
        resets_at: dt.datetime | None,
        plan: Any = None,
    ) -> None:
        super().__init__(message)
        self.needed = needed
        self.remaining = remaining
        self.resets_at = resets_at
        self.plan = plan


class RefreshRefused(ClickkitError):
    """An explicit refresh was refused by a guard; the message says which and why."""


class ParseError(ClickkitError):
    """A downloaded or loaded file could not be read as a click export."""


class CacheError(ClickkitError):
    """The cache directory cannot be used (not writable, corrupted beyond repair)."""


class MissingDependency(ClickkitError, ImportError):
    """An optional library is not installed; the message names the extra to install."""


class ProvisionalDataWarning(UserWarning):
    """Some returned days are provisional: produced before the day was over, so clicks
    may still arrive. The day is replayed once when asked for after it closes."""


class TimezoneMismatchWarning(UserWarning):
    """The offsets the API sends contradict the ``timezone`` setting.

    No day is marked final while they disagree; set ``timezone=`` (``CLICKKIT_TIMEZONE``)
    to the account's time zone.
    """
