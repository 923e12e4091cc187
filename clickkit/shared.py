"""The cache of a team: job records, day files and the quota ledger in an S3 bucket.

A :class:`SharedCache` offers every public method of :class:`clickkit.cache.Cache` with
the same meaning, backed by a bucket prefix (``s3://bucket/prefix``) that every machine
of one impact.com account uses. The local :class:`~clickkit.cache.Cache` becomes a
read-through mirror: a day read once is read from the local disk after that.

Layout under the prefix::

    jobs/<key>.json                     the job record of a request key
    days/<key>.parquet                  its typed day frame (the bytes of the local file)
    claims/<key>.json                   who works on a request key right now (a lock)
    quota/<account>/<quota day>.json    API calls counted that quota day, and reservations
    notes/<hash>.json                   small shared values (what the server said remains)

How the team stays exact:

- **One export per day.** :meth:`SharedCache.lock` creates a *claim* object with
  ``If-None-Match: *``; only one machine can. The others wait and then find the winner's
  job record. A holder renews its claim every ``claim_timeout / 4`` seconds; a claim not
  renewed for ``claim_timeout`` seconds (by the bucket's own clock), or held by a process
  of this host that is gone, is taken over with ``If-Match`` on its ETag, so only one
  machine takes it.
- **One quota.** Ledger counts and reservations of an account and quota day are one JSON
  object, changed only with ``If-Match`` (or ``If-None-Match`` when new) and re-read and
  retried on a conflict, so every machine counts what the others spent and reserved.
- **Nothing half written.** Every object is written whole by one ``PUT``. A day file is
  uploaded before its record says it is complete, and a record is trusted only with the
  content hash it names, so a writer killed at any point leaves a pending record (its
  job is downloaded again, never exported again) and no damaged day.
- **Offline.** When the bucket cannot be reached, reads of job records and of days
  already mirrored fall back to the local mirror (records get ``offline=True``, and a
  warning is logged); anything that needs the team's records or quota raises
  :class:`BucketUnreachable`, a :class:`~clickkit.errors.CacheError`.

Credentials come from boto3's usual chain (environment, profile, instance role) unless
``storage_options`` name them. They are handed to boto3 only: never stored, logged or
shown in a repr, and the impact.com token never reaches this module.

Examples
--------
>>> cache = open_cache("~/.cache/clickkit", "s3://team-bucket/clickkit")  # doctest: +SKIP
>>> cache.job(key)  # the team's record of a request key  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import email.utils
import functools
import hashlib
import json
import logging
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from clickkit._optional import import_optional
from clickkit.cache import (
    Cache,
    _alive,
    _content_hash,
    exports_used,
    grant_reservation,
    live_reservations,
)
from clickkit.errors import CacheError
from clickkit.files import atomic_write

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("clickkit")

__all__ = ["CLAIM_TIMEOUT", "ArrowS3", "BucketUnreachable", "Claim", "SharedCache", "open_cache"]

#: Seconds after which a claim its holder stopped renewing is taken over.
CLAIM_TIMEOUT = 120.0

#: Conditional writes retried this many times on a conflict before giving up.
_ATTEMPTS = 30

#: Seconds during which a bucket found unreachable is not asked again (each attempt
#: costs boto3's retries), so a run that falls back to the mirror stays quick.
OFFLINE_RETRY = 15.0

#: ``storage_options`` names -> boto3 client keyword (s3fs spellings are accepted too,
#: so one mapping also serves ``pd.read_parquet(..., storage_options=...)``).
_CLIENT_OPTIONS = {
    "endpoint_url": "endpoint_url",
    "region_name": "region_name",
    "region": "region_name",
    "aws_access_key_id": "aws_access_key_id",
    "key": "aws_access_key_id",
    "aws_secret_access_key": "aws_secret_access_key",
    "secret": "aws_secret_access_key",
    "aws_session_token": "aws_session_token",
    "token": "aws_session_token",
    "verify": "verify",
    "use_ssl": "use_ssl",
}
_OTHER_OPTIONS = ("profile", "profile_name", "client_kwargs", "config_kwargs")

_HEX_KEY = re.compile(r"[0-9a-f]{16,64}")

T = TypeVar("T")


class BucketUnreachable(CacheError):
    """The bucket of a shared cache could not be reached (network, endpoint, DNS).

    Days already mirrored locally are still served; what needs the team's records or
    quota waits until the bucket is back.
    """


class _Missing(Exception):
    """The object does not exist."""


class _Conflict(Exception):
    """A conditional write lost: the object changed (or appeared, or went) meanwhile."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """What :meth:`SharedCache.lock` yields: the claim this process holds on a key.

    Attributes
    ----------
    key : str
        The locked key.
    owner : dict
        ``host``, ``pid`` and a random ``id`` of this holder.
    taken_over_from : dict or None
        The previous holder when a stale claim was taken over (``host``, ``pid``,
        ``job_id`` if that holder had recorded one, and ``why``).
    """

    key: str
    owner: dict[str, Any]
    taken_over_from: dict[str, Any] | None = None


@dataclasses.dataclass
class _Held:
    """A claim this process holds: its object, body, ETag and renewal thread."""

    name: str
    body: dict[str, Any]
    etag: str
    guard: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    lost: bool = False


def _boto() -> tuple[Any, Any]:
    """boto3 and botocore, or MissingDependency with the install hint."""
    need = {"feature": "a shared cache on object storage", "install": 'pip install "clickkit[s3]"'}
    boto3 = import_optional("boto3", **need)
    for name in ("botocore.config", "botocore.exceptions"):
        import_optional(name, **need)
    return boto3, sys.modules["botocore"]


def parse_url(url: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of an ``s3://bucket/prefix`` URL (the prefix may be empty).

    Raises
    ------
    CacheError
        For another scheme, no bucket, or credentials written into the URL.

    Examples
    --------
    >>> parse_url("s3://team-bucket/clickkit/")
    ('team-bucket', 'clickkit')
    """
    parts = urllib.parse.urlsplit(str(url))
    if "@" in parts.netloc:
        # Never echo the URL: it holds a secret.
        raise CacheError(
            "the shared cache URL holds credentials (user:secret@); write it as "
            "s3://bucket/prefix and give credentials through the usual AWS environment "
            "variables or profile, or storage_options."
        )
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise CacheError(
            f"shared_cache={url!r} is not an s3://bucket/prefix URL; write it as "
            "s3://bucket/prefix (for S3-compatible storage set storage_options="
            '{"endpoint_url": ...}).'
        )
    return parts.netloc, parts.path.strip("/")


def mirror_dir(local_root: str | Path, shared_url: str) -> Path:
    """The local mirror folder of a shared cache: one per bucket prefix, under the cache dir.

    A separate folder keeps the records of a machine's own (unshared) cache out of the
    team's mirror.

    Examples
    --------
    >>> mirror_dir("/tmp/c", "s3://team-bucket/clickkit").parent
    PosixPath('/tmp/c/shared')
    """
    bucket, prefix = parse_url(shared_url)
    tag = hashlib.blake2b(f"{bucket}/{prefix}".encode(), digest_size=8).hexdigest()
    return Path(local_root).expanduser() / "shared" / f"{bucket}-{tag}"


def open_cache(
    local_root: str | Path,
    shared_url: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    *,
    claim_timeout: float = CLAIM_TIMEOUT,
) -> Cache | SharedCache:
    """The cache a client uses: local, or shared in a bucket with a local mirror.

    Parameters
    ----------
    local_root : str or Path
        The local cache directory (``cache_dir``).
    shared_url : str, optional
        ``s3://bucket/prefix`` of the team's shared cache; ``None`` or ``""`` for a local
        cache only.
    storage_options : mapping, optional
        boto3 client options: ``endpoint_url``, ``region_name``, and credentials only if
        they must not come from boto3's usual chain (see :class:`SharedCache`).
    claim_timeout : float
        Seconds after which a claim its holder stopped renewing is taken over.

    Returns
    -------
    Cache or SharedCache
        A :class:`~clickkit.cache.Cache` of ``local_root`` without ``shared_url``; else
        a :class:`SharedCache` whose mirror is :func:`mirror_dir` of ``local_root``.

    Examples
    --------
    >>> cache = open_cache(tmp_path, "s3://team-bucket/clickkit",
    ...                    {"endpoint_url": "http://127.0.0.1:9000"})  # doctest: +SKIP
    """
    if not shared_url:
        if storage_options:
            raise CacheError(
                "storage_options were given without shared_cache; set shared_cache= (or "
                "CLICKKIT_SHARED_CACHE) to s3://bucket/prefix, or drop storage_options."
            )
        return Cache(local_root)
    return SharedCache(
        shared_url,
        mirror_dir(local_root, shared_url),
        storage_options=storage_options,
        claim_timeout=claim_timeout,
    )


def _client_kwargs(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """boto3 client kwargs, botocore Config kwargs and a profile name from storage_options."""
    unknown = sorted(k for k in options if k not in _CLIENT_OPTIONS and k not in _OTHER_OPTIONS)
    if unknown:
        # Names only: values may be secrets.
        raise CacheError(
            f"storage_options has unknown name(s) {', '.join(unknown)}; use "
            f"{', '.join(sorted({*_CLIENT_OPTIONS, *_OTHER_OPTIONS}))}."
        )
    kwargs = {
        _CLIENT_OPTIONS[k]: v for k, v in options.items() if k in _CLIENT_OPTIONS and v is not None
    }
    kwargs.update(dict(options.get("client_kwargs") or {}))
    config = dict(options.get("config_kwargs") or {})
    profile = options.get("profile_name") or options.get("profile")
    return kwargs, config, profile


@dataclasses.dataclass(frozen=True)
class ArrowS3:
    """How pyarrow's ``S3FileSystem`` reaches the bucket (small, picklable, hashable).

    Built from ``storage_options``; Dask workers rebuild the filesystem from it. The
    credentials are set only when ``storage_options`` name them (otherwise pyarrow's
    own chain: environment, ``~/.aws`` files, instance role) and never appear in a repr.
    """

    region: str | None = None
    endpoint_override: str | None = None
    scheme: str | None = None
    access_key: str | None = dataclasses.field(default=None, repr=False)
    secret_key: str | None = dataclasses.field(default=None, repr=False)
    session_token: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], region: str | None = None) -> ArrowS3:
        """Map boto3 ``storage_options`` to pyarrow's names (see :func:`_client_kwargs`)."""
        kwargs, _, _ = _client_kwargs(options)
        endpoint = kwargs.get("endpoint_url")
        scheme = None
        if endpoint:
            parsed = urllib.parse.urlsplit(str(endpoint))
            if parsed.scheme:
                scheme, endpoint = parsed.scheme, parsed.netloc + parsed.path.rstrip("/")
        return cls(
            region=kwargs.get("region_name") or region,
            endpoint_override=endpoint or None,
            scheme=scheme,
            access_key=kwargs.get("aws_access_key_id"),
            secret_key=kwargs.get("aws_secret_access_key"),
            session_token=kwargs.get("aws_session_token"),
        )

    def filesystem(self) -> Any:
        """A ``pyarrow.fs.S3FileSystem`` (one per process and settings)."""
        return _arrow_filesystem(self)


@functools.lru_cache(maxsize=8)
def _arrow_filesystem(options: ArrowS3) -> Any:
    from pyarrow import fs

    given = {k: v for k, v in dataclasses.asdict(options).items() if v is not None}
    return fs.S3FileSystem(**given)


def _etag(response: Mapping[str, Any]) -> str:
    return str(response.get("ETag", ""))


def _encode(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _clean(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as stored: without the flags only this module adds."""
    return {k: v for k, v in record.items() if k not in ("offline", "shared_unsynced")}


class SharedCache:
    """The cache of a team on one impact.com account, in an S3 bucket, mirrored locally.

    Same methods and meaning as :class:`clickkit.cache.Cache`; job records, day files,
    the usage ledger, reservations and notes live in the bucket, and :meth:`lock` is a
    claim every machine respects (see the module documentation).

    Parameters
    ----------
    url : str
        ``s3://bucket/prefix``; every machine of the team uses the same one.
    local : Cache, str or Path
        The local mirror (a :class:`~clickkit.cache.Cache` or its directory). Use a
        folder of its own (:func:`mirror_dir`), not a machine's unshared cache.
    storage_options : mapping, optional
        Passed to ``boto3.client("s3", ...)``: ``endpoint_url``, ``region_name``,
        ``verify``, ``use_ssl``; credentials (``aws_access_key_id``,
        ``aws_secret_access_key``, ``aws_session_token``, or s3fs's ``key``, ``secret``,
        ``token``) only when they must not come from boto3's usual chain; ``profile``;
        ``client_kwargs`` (more client keywords) and ``config_kwargs`` (for
        ``botocore.config.Config``). Never stored nor logged.
    claim_timeout : float
        Seconds after which a claim its holder stopped renewing is taken over.
    client : object, optional
        A ready boto3 S3 client (then ``storage_options`` are not used).

    Raises
    ------
    MissingDependency
        When boto3 is not installed (``pip install "clickkit[s3]"``).
    CacheError
        For a malformed URL or unknown ``storage_options``.

    Notes
    -----
    The storage must honour ``If-None-Match: *`` and ``If-Match`` on ``PutObject``
    (AWS S3 does, as do moto >= 5.1 and recent MinIO); :meth:`check_writable` checks it
    before anything is spent. The bucket is reached lazily: opening a SharedCache makes
    no request, so an offline machine can still open it and read its mirror.

    Examples
    --------
    >>> cache = SharedCache("s3://team-bucket/clickkit", tmp_path / "mirror")  # doctest: +SKIP
    >>> with cache.lock(key) as claim:  # one machine at a time  # doctest: +SKIP
    ...     record = cache.job(key)
    """

    def __init__(
        self,
        url: str,
        local: Cache | str | Path,
        *,
        storage_options: Mapping[str, Any] | None = None,
        claim_timeout: float = CLAIM_TIMEOUT,
        client: Any = None,
    ) -> None:
        self.bucket, self.prefix = parse_url(url)
        self._storage_options = dict(storage_options or {})
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        if claim_timeout <= 0:
            raise CacheError(f"claim_timeout={claim_timeout!r} must be a positive number (seconds)")
        self.claim_timeout = float(claim_timeout)
        boto3, botocore = _boto()
        self._botocore = botocore
        if client is None:
            kwargs, config, profile = _client_kwargs(storage_options or {})
            settings = {
                "retries": {"max_attempts": 3, "mode": "standard"},
                "connect_timeout": 5,
                "read_timeout": 60,
                "user_agent_extra": "clickkit",
                **config,
            }
            try:
                session = boto3.session.Session(profile_name=profile)
                client = session.client("s3", config=botocore.config.Config(**settings), **kwargs)
            except botocore.exceptions.BotoCoreError as exc:
                raise CacheError(
                    f"cannot set up the S3 client for {self.url} ({type(exc).__name__}: {exc}); "
                    "check storage_options and the AWS profile."
                ) from None
        #: The boto3 S3 client (its event hooks are how tests stall a writer).
        self.s3 = client
        self.local = local if isinstance(local, Cache) else Cache(local)
        self.root = self.local.root
        self._held: dict[str, _Held] = {}
        self._held_lock = threading.Lock()
        self._offline = False
        self._unreachable: tuple[float, BucketUnreachable] | None = None
        self._me = {"host": socket.gethostname(), "pid": os.getpid()}

    def __repr__(self) -> str:
        return f"SharedCache({self.url!r}, local={str(self.root)!r})"

    @property
    def index_dir(self) -> Path:
        """The index directory of the local mirror."""
        return self.local.index_dir

    def close(self) -> None:
        """Release held claims, close the local mirror and the S3 client."""
        with self._held_lock:
            held = list(self._held.values())
        for claim in held:
            self._release(claim)
        self.local.close()
        with contextlib.suppress(Exception):
            self.s3.close()

    # -- objects -----------------------------------------------------------------------

    def _name(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _failure(self, doing: str, exc: BaseException) -> CacheError:
        """A CacheError that says what went wrong with the bucket and what to do."""
        errors = self._botocore.exceptions
        where = f"the shared cache {self.url}"
        if isinstance(exc, errors.NoCredentialsError | errors.PartialCredentialsError):
            return CacheError(
                f"{where} failed {doing}: no credentials for the bucket were found. Set "
                "AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), use an "
                "instance role, or pass credentials in storage_options."
            )
        if isinstance(exc, errors.ClientError):
            err = exc.response.get("Error") or {}
            code = str(err.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            detail = f"{code or status}: {err.get('Message', '')}".strip()
            if code == "NoSuchBucket":
                fix = f"create the bucket {self.bucket}, or fix shared_cache="
            elif code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch") or (
                status == 403
            ):
                fix = (
                    "check the credentials: they need s3:GetObject, s3:PutObject, "
                    f"s3:DeleteObject and s3:ListBucket on {self.url}/*"
                )
            elif code in ("NotImplemented", "InvalidArgument") or status == 501:
                fix = (
                    "this storage does not support conditional writes (If-None-Match, "
                    "If-Match on PutObject), which a shared cache needs; use AWS S3 or a "
                    "compatible store that does"
                )
            else:
                fix = "try again; if it persists, check the bucket and storage_options"
            return CacheError(f"{where} failed {doing} ({detail}); {fix}.")
        if isinstance(exc, errors.BotoCoreError | OSError):
            return BucketUnreachable(
                f"{where} is unreachable while {doing} ({type(exc).__name__}: {exc}). Check "
                "the network and storage_options['endpoint_url'], then try again. Days "
                f"already mirrored in {self.root} are still served meanwhile."
            )
        return CacheError(f"{where} failed {doing} ({type(exc).__name__}: {exc}).")

    def _call(self, operation: str, doing: str, **kwargs: Any) -> Any:
        """One S3 request; _Missing, _Conflict or a CacheError instead of botocore errors."""
        errors = self._botocore.exceptions
        if self._unreachable is not None:
            since, error = self._unreachable
            if time.monotonic() - since < OFFLINE_RETRY:
                raise BucketUnreachable(str(error))
            self._unreachable = None
        try:
            response = getattr(self.s3, operation)(Bucket=self.bucket, **kwargs)
        except errors.ClientError as exc:
            self._online()
            err = exc.response.get("Error") or {}
            code = str(err.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in (409, 412) or code in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise _Conflict(code) from None
            if code in ("NoSuchKey", "NotFound") or (status == 404 and code != "NoSuchBucket"):
                raise _Missing(code) from None
            raise self._failure(doing, exc) from None
        except (errors.BotoCoreError, OSError) as exc:
            failure = self._failure(doing, exc)
            if isinstance(failure, BucketUnreachable):
                self._unreachable = (time.monotonic(), failure)
            raise failure from None
        self._online()
        return response

    def _online(self) -> None:
        if self._offline:
            self._offline = False
            log.warning("the shared cache %s is reachable again", self.url)

    def _fall_back(self, what: str, exc: CacheError) -> None:
        """Log (once per outage) that the local mirror answers instead of the bucket."""
        if not self._offline:
            self._offline = True
            log.warning("%s; %s from the local mirror %s", str(exc).rstrip("."), what, self.root)

    def _get_bytes(self, name: str, doing: str) -> tuple[bytes, str, dict[str, Any]]:
        response = self._call("get_object", doing, Key=name)
        try:
            data = response["Body"].read()
        except (self._botocore.exceptions.BotoCoreError, OSError) as exc:
            raise self._failure(doing, exc) from None
        return data, _etag(response), response

    def _get_json(self, name: str, doing: str) -> tuple[Any, str | None]:
        """The decoded object and its ETag; ``(None, None)`` when absent.

        An object that does not decode counts as absent but keeps its ETag, so a
        conditional write replaces it.
        """
        try:
            data, etag, _ = self._get_bytes(name, doing)
        except _Missing:
            return None, None
        try:
            return json.loads(data), etag
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("%s/%s does not decode as JSON; it is treated as absent", self.url, name)
            return None, etag

    def _put(
        self,
        name: str,
        data: bytes,
        doing: str,
        *,
        if_match: str | None = None,
        create: bool = False,
        content_type: str = "application/json",
    ) -> str:
        """Write a whole object (conditionally); return its new ETag."""
        kwargs: dict[str, Any] = {"Key": name, "Body": data, "ContentType": content_type}
        if create:
            kwargs["IfNoneMatch"] = "*"
        elif if_match is not None:
            kwargs["IfMatch"] = if_match
        try:
            return _etag(self._call("put_object", doing, **kwargs))
        except _Missing:
            raise _Conflict("gone") from None  # If-Match on an object deleted meanwhile

    def _delete(self, name: str, doing: str, *, if_match: str | None = None) -> None:
        kwargs: dict[str, Any] = {"Key": name}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        try:
            self._call("delete_object", doing, **kwargs)
        except _Missing:
            if if_match is not None:
                raise _Conflict("gone") from None

    def _modify(self, name: str, change: Callable[[Any], tuple[Any, T]], doing: str) -> T:
        """Read-change-write an object with If-Match (If-None-Match when new), retried.

        ``change`` gets a copy of the current value (``None`` when absent) and returns
        the new value (``None`` deletes the object) and what to return.
        """
        for attempt in range(_ATTEMPTS):
            value, etag = self._get_json(name, doing)
            new, out = change(copy.deepcopy(value))
            if new == value and (new is not None or etag is None):
                return out
            try:
                if new is None:
                    self._delete(name, doing, if_match=etag)
                else:
                    self._put(name, _encode(new), doing, if_match=etag, create=etag is None)
                return out
            except _Conflict:
                # Another machine wrote first: read its value and apply the change again.
                time.sleep(random.uniform(0, min(0.01 * 2**attempt, 0.5)))
        raise CacheError(
            f"the shared cache {self.url} failed {doing}: {name} changed under this machine "
            f"{_ATTEMPTS} times in a row (many machines at once); try again."
        )

    # -- job records -----------------------------------------------------------------

    def _job_name(self, key: str) -> str:
        return self._name("jobs", f"{key}.json")

    def _mirror(self, key: str, record: dict[str, Any] | None) -> dict[str, Any] | None:
        """Keep the local mirror's record of ``key`` equal to the bucket's; return the latter.

        A local record whose write to the bucket failed (``shared_unsynced``) and that
        the bucket lacks is written to the bucket now, so no job id is lost.
        """
        local = self.local.job(key)
        if record is None:
            if local and local.get("shared_unsynced"):
                pushed = _clean(local)
                try:
                    self._put(self._job_name(key), _encode(pushed), "writing a job record",
                              create=True)  # fmt: skip
                except _Conflict:
                    return self.job(key)
                self.local.put_job(key, pushed)
                log.warning("wrote the job record of %s (job %s) kept locally to %s",
                            key, pushed.get("job_id"), self.url)  # fmt: skip
                return pushed
            if local is not None:
                self.local.drop_job(key)  # dropped by another machine
            return None
        if local != record:
            self.local.put_job(key, record)
        return record

    def job(self, key: str) -> dict[str, Any] | None:
        """The team's job record of a request key, or ``None``.

        When the bucket is unreachable, the local mirror's record with ``offline=True``.
        """
        try:
            record, _ = self._get_json(self._job_name(key), "reading a job record")
        except BucketUnreachable as exc:
            self._fall_back("job records are read", exc)
            local = self.local.job(key)
            return None if local is None else {**local, "offline": True}
        return self._mirror(key, record if isinstance(record, dict) else None)

    def put_job(self, key: str, record: Mapping[str, Any]) -> None:
        """Store (replace) the job record of a request key.

        It is written to the local mirror first, so a job id survives a bucket failure
        (it is written to the bucket by the next :meth:`job` that finds the bucket
        without it); then the CacheError is raised.
        """
        record = _clean(record)
        self.local.put_job(key, record)
        try:
            self._put(self._job_name(key), _encode(record), "writing a job record")
        except CacheError as exc:
            self.local.put_job(key, {**record, "shared_unsynced": True})
            raise type(exc)(
                f"{exc} The record of {key} (job {record.get('job_id')}) is kept in "
                f"{self.root} and written to the bucket once it is reachable."
            ) from None
        self._stamp_claim(key, record.get("job_id"))

    def update_job(self, key: str, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into the team's job record (If-Match, retried); return it."""
        changes = _clean(changes)

        def merge(current: Any) -> tuple[dict[str, Any], dict[str, Any]]:
            record = dict(current) if isinstance(current, dict) else {}
            record.update(changes)
            return record, record

        try:
            record = self._modify(self._job_name(key), merge, "updating a job record")
        except CacheError as exc:
            local = self.local.job(key)
            if local is not None:
                self.local.put_job(key, {**local, **changes, "shared_unsynced": True})
            raise type(exc)(
                f"{exc} The change to {key} is kept in {self.root} until the bucket is reachable."
            ) from None
        self.local.put_job(key, record)
        if "job_id" in changes:
            self._stamp_claim(key, changes["job_id"])
        return record

    def drop_job(self, key: str) -> None:
        """Forget the job record of a request key (its day files stay)."""
        with contextlib.suppress(_Missing):
            self._delete(self._job_name(key), "removing a job record")
        self.local.drop_job(key)

    def jobs(self) -> list[dict[str, Any]]:
        """Every job record of the team (the local mirror's, ``offline=True``, when offline)."""
        names = []
        try:
            token: str | None = None
            while True:
                kwargs = {"Prefix": self._name("jobs") + "/"}
                if token:
                    kwargs["ContinuationToken"] = token
                page = self._call("list_objects_v2", "listing job records", **kwargs)
                names += [o["Key"] for o in page.get("Contents", ()) if o["Key"].endswith(".json")]
                token = page.get("NextContinuationToken")
                if not page.get("IsTruncated") or not token:
                    break

            def read(name: str) -> Any:
                with contextlib.suppress(_Missing):
                    return self._get_json(name, "reading a job record")[0]
                return None

            with ThreadPoolExecutor(max_workers=8) as pool:
                values = list(pool.map(read, names))
        except BucketUnreachable as exc:
            self._fall_back("job records are listed", exc)
            return [{**r, "offline": True} for r in self.local.jobs()]
        records = []
        for name, value in zip(names, values, strict=True):
            key = name.rsplit("/", 1)[-1].removesuffix(".json")
            if isinstance(value, dict):
                records.append(self._mirror(key, value) or value)
        return records

    # -- usage ledger and notes --------------------------------------------------------

    def _quota_name(self, account_sid: str, quota_day: dt.date) -> str:
        return self._name("quota", account_sid, f"{quota_day.isoformat()}.json")

    def _local_ledger_names(self, account_sid: str, quota_day: dt.date) -> tuple[str, str]:
        day = quota_day.isoformat()
        return f"shared-ledger/{account_sid}/{day}", f"shared-ledger-unsent/{account_sid}/{day}"

    def ledger(self, account_sid: str, quota_day: dt.date) -> dict[str, int]:
        """API calls the whole team counted for an account in one quota day, by endpoint.

        Offline: the last counts seen, plus this machine's since (logged as a warning).
        """
        mirror, _ = self._local_ledger_names(account_sid, quota_day)
        try:
            value, _ = self._get_json(
                self._quota_name(account_sid, quota_day), "reading the usage ledger"
            )
        except BucketUnreachable as exc:
            self._fall_back("the usage ledger is read", exc)
            return dict(self.local.value(mirror) or {})
        calls = dict((value or {}).get("calls") or {}) if isinstance(value, dict) else {}
        if calls != (self.local.value(mirror) or {}):
            self.local.set_value(mirror, calls)
        return calls

    def count_call(self, account_sid: str, quota_day: dt.date, endpoint: str, n: int = 1) -> None:
        """Add ``n`` calls of ``endpoint`` to the team's ledger.

        This never raises for the bucket: the call has been made and its answer must
        reach the caller (a job id is recorded right after). A count the bucket did not
        take is kept locally, logged, and added with the next count that goes through.
        """
        mirror, unsent_name = self._local_ledger_names(account_sid, quota_day)
        unsent = dict(self.local.value(unsent_name) or {})
        adding = dict(unsent)
        adding[endpoint] = int(adding.get(endpoint, 0)) + n

        def add(current: Any) -> tuple[dict[str, Any], dict[str, int]]:
            value = dict(current) if isinstance(current, dict) else {}
            calls = dict(value.get("calls") or {})
            for name, count in adding.items():
                calls[name] = int(calls.get(name, 0)) + int(count)
            value.update(v=1, calls=calls)
            return value, calls

        try:
            calls = self._modify(
                self._quota_name(account_sid, quota_day), add, "counting an API call"
            )
        except CacheError as exc:
            self.local.set_value(unsent_name, adding)
            seen = dict(self.local.value(mirror) or {})
            seen[endpoint] = int(seen.get(endpoint, 0)) + n
            self.local.set_value(mirror, seen)
            log.warning("%s; the %s call is counted locally and added to the team's ledger "
                        "once the bucket is reachable", str(exc).rstrip("."), endpoint)  # fmt: skip
            return
        if unsent:
            self.local.set_value(unsent_name, {})
        self.local.set_value(mirror, calls)

    def _note_name(self, name: str) -> str:
        digest = hashlib.blake2b(name.encode(), digest_size=16).hexdigest()
        return self._name("notes", f"{digest}.json")

    def value(self, name: str) -> Any:
        """The small JSON value the whole team remembers under ``name`` (``None`` if none)."""
        try:
            stored, _ = self._get_json(self._note_name(name), "reading a value")
        except BucketUnreachable as exc:
            self._fall_back("values are read", exc)
            return self.local.value(name)
        found = stored.get("value") if isinstance(stored, dict) else None
        if found is not None and found != self.local.value(name):
            self.local.set_value(name, found)
        return found

    def set_value(self, name: str, value: Any) -> None:
        """Remember a small JSON value under ``name`` for the whole team."""
        self._put(self._note_name(name), _encode({"name": name, "value": value}), "writing a value")
        self.local.set_value(name, value)

    # -- quota reservations ----------------------------------------------------------

    def reserve_exports(
        self,
        account_sid: str,
        quota_day: dt.date,
        keys: Sequence[str],
        *,
        limit: int,
        server_remaining: int | None = None,
        owner: str,
    ) -> list[str]:
        """Reserve the exports of request ``keys`` for ``owner``; return the keys refused.

        As :meth:`clickkit.cache.Cache.reserve_exports`, in one conditional write of the
        account's quota object: ``used`` is what every machine counted, and the
        reservations of every machine's owners hold their keys.
        """

        def reserve(current: Any) -> tuple[dict[str, Any], list[str]]:
            value = dict(current) if isinstance(current, dict) else {}
            used = exports_used(value.get("calls") or {})
            held = live_reservations(value.get("reservations"))
            room = limit - used
            refused = grant_reservation(held, owner, self._me, keys, room, server_remaining)
            value.update(v=1, reservations=held)
            return value, refused

        return self._modify(self._quota_name(account_sid, quota_day), reserve, "reserving exports")

    def _change_reservation(
        self, account_sid: str, quota_day: dt.date, owner: str, key: str | None, doing: str
    ) -> None:
        def change(current: Any) -> tuple[Any, None]:
            if not isinstance(current, dict) or owner not in (current.get("reservations") or {}):
                return current, None
            value = dict(current)
            held = live_reservations(value.get("reservations"))
            if owner in held:
                if key is None:
                    del held[owner]
                else:
                    held[owner]["keys"] = [k for k in held[owner].get("keys", ()) if k != key]
                    held[owner]["at"] = time.time()
                    if not held[owner]["keys"]:
                        del held[owner]
            value["reservations"] = held
            return value, None

        self._modify(self._quota_name(account_sid, quota_day), change, doing)

    def spend_reservation(self, account_sid: str, quota_day: dt.date, owner: str, key: str) -> None:
        """Drop ``key`` from ``owner``'s reservation once its export is in the ledger."""
        self._change_reservation(account_sid, quota_day, owner, key, "spending a reservation")

    def release_reservation(self, account_sid: str, quota_day: dt.date, owner: str) -> None:
        """Give back what is left of ``owner``'s reservation."""
        self._change_reservation(account_sid, quota_day, owner, None, "releasing a reservation")

    def reserved_by_others(self, account_sid: str, quota_day: dt.date, owner: str) -> int:
        """Exports (distinct request keys) that other owners' live reservations hold.

        Offline: 0 (logged), so cached days can still be planned; nothing can be
        reserved, hence spent, until the bucket is back.
        """
        try:
            value, _ = self._get_json(
                self._quota_name(account_sid, quota_day), "reading reservations"
            )
        except BucketUnreachable as exc:
            self._fall_back("reservations are not known; they are read as none", exc)
            return 0
        held = live_reservations(
            (value or {}).get("reservations") if isinstance(value, dict) else None
        )
        return len({k for o, h in held.items() if o != owner for k in h.get("keys", ())})

    # -- claims (locks) ----------------------------------------------------------------

    def _claim_name(self, key: str) -> str:
        if not _HEX_KEY.fullmatch(key):
            key = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        return self._name("claims", f"{key}.json")

    def _read_claim(self, name: str) -> tuple[dict[str, Any] | None, str | None, float | None]:
        """The claim's body, ETag and age by the bucket's clock (``None`` ETag: no claim)."""
        try:
            data, etag, response = self._get_bytes(name, "reading a claim")
        except _Missing:
            return None, None, None
        age = None
        with contextlib.suppress(TypeError, ValueError, KeyError):
            served = email.utils.parsedate_to_datetime(
                response["ResponseMetadata"]["HTTPHeaders"]["date"]
            )
            age = (served - response["LastModified"]).total_seconds()
        try:
            body = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        return (body if isinstance(body, dict) else None), etag, age

    def _stale(self, holder: dict[str, Any] | None, age: float | None, watched: float) -> str:
        """Why a claim may be taken over, or ``""``."""
        if holder is None:
            return "its claim does not decode"
        owner = holder.get("owner") if isinstance(holder.get("owner"), dict) else {}
        if owner.get("host") == self._me["host"] and not _alive(owner.get("pid")):
            return f"process {owner.get('pid')} on this host is gone"
        # HTTP dates have whole seconds: one more second keeps a fresh claim from looking old.
        if age is not None and age > self.claim_timeout + 1:
            return f"its claim was not renewed for {age:.0f}s"
        if watched > self.claim_timeout:
            return f"its claim did not change for {watched:.0f}s"
        return ""

    @contextlib.contextmanager
    def lock(self, key: str, *, expire: float = 300.0, timeout: float = 600.0) -> Iterator[Claim]:
        """A lock on a request key for the whole team: a claim object in the bucket.

        The claim is created with ``If-None-Match: *``; whoever loses polls it until it
        is released (then takes it and, typically, finds the winner's job record) or it
        goes stale: not renewed for ``claim_timeout`` seconds, or held by a process of
        this host that is gone. A stale claim is taken over with ``If-Match`` on its
        ETag, so only one machine takes it. The holder renews its claim in a background
        thread while it holds it, so long sections (a download) keep it; ``expire`` is
        accepted for :class:`~clickkit.cache.Cache` compatibility (staleness is
        ``claim_timeout``).

        Yields
        ------
        Claim
            With ``taken_over_from`` set when a stale claim was taken over.

        Raises
        ------
        CacheError
            After ``timeout`` seconds of waiting for a live holder (named), or when the
            bucket cannot be reached.
        """
        name = self._claim_name(key)
        owner = {**self._me, "id": uuid.uuid4().hex}
        shown_key = key if _HEX_KEY.fullmatch(key) else name.rsplit("/", 1)[-1][:-5]
        body = {"v": 1, "key": shown_key, "owner": owner, "since": time.time(), "at": time.time()}
        deadline = time.monotonic() + timeout
        seen: tuple[str, float] | None = None
        delay, warned = 0.02, False
        taken: dict[str, Any] | None = None
        while True:
            try:
                etag = self._put(name, _encode(body), "taking a claim", create=True)
                break
            except _Conflict:
                pass
            holder, held_etag, age = self._read_claim(name)
            if held_etag is None:
                continue  # released meanwhile: try again at once
            if seen is None or seen[0] != held_etag:
                seen = (held_etag, time.monotonic())
            why = self._stale(holder, age, time.monotonic() - seen[1])
            if why:
                try:
                    etag = self._put(name, _encode(body), "taking over a claim", if_match=held_etag)
                except _Conflict:
                    continue  # another machine took it (or it was released) first
                previous = (holder or {}).get("owner") or {}
                taken = {**previous, "job_id": (holder or {}).get("job_id"), "why": why}
                log.warning(
                    "took over the claim on %s from process %s on host %s (%s)%s",
                    key, previous.get("pid"), previous.get("host"), why,
                    f"; it had recorded job {taken['job_id']}" if taken["job_id"] else "",
                )  # fmt: skip
                break
            current = (holder or {}).get("owner") or {}
            if current.get("host") != self._me["host"] and not warned:
                warned = True
                log.warning(
                    "%s is being worked on by process %s on host %s; waiting until it "
                    "finishes (or its claim is not renewed for %.0fs)",
                    key, current.get("pid"), current.get("host"), self.claim_timeout,
                )  # fmt: skip
            if time.monotonic() > deadline:
                raise CacheError(
                    f"waited {timeout:.0f}s for {key}, claimed by process {current.get('pid')} "
                    f"on host {current.get('host')} in {self.url}. Let clickkit finish there "
                    f"(or stop it; its claim is taken over {self.claim_timeout:.0f}s after it "
                    "stops) and try again."
                )
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 1.5, 0.5)
        held = _Held(name, body, etag)
        self._renew_in_background(held)
        try:
            yield Claim(key, owner, taken)
        finally:
            self._release(held)

    def _renew_in_background(self, held: _Held) -> None:
        interval = min(max(self.claim_timeout / 4, 0.05), 30.0)

        def renew() -> None:
            while not held.stop.wait(interval):
                with held.guard:
                    if held.lost:
                        return
                    body = {**held.body, "at": time.time()}
                    try:
                        held.etag = self._put(held.name, _encode(body), "renewing a claim",
                                              if_match=held.etag)  # fmt: skip
                        held.body = body
                    except _Conflict:
                        held.lost = True
                        log.warning("the claim on %s was taken over by another machine while "
                                    "this one held it", held.body.get("key"))  # fmt: skip
                    except CacheError as exc:
                        log.warning("could not renew the claim on %s (%s)", held.body.get("key"),
                                    exc)  # fmt: skip

        with self._held_lock:
            self._held[held.name] = held
        held.thread = threading.Thread(target=renew, name="clickkit-claim", daemon=True)
        held.thread.start()

    def _release(self, held: _Held) -> None:
        """Stop renewing and delete the claim if it is still ours."""
        held.stop.set()
        if held.thread is not None and held.thread is not threading.current_thread():
            held.thread.join()
        with self._held_lock:
            self._held.pop(held.name, None)
        with held.guard:
            if held.lost:
                return
            held.lost = True
            try:
                try:
                    self._delete(held.name, "releasing a claim", if_match=held.etag)
                except BucketUnreachable:
                    raise
                except CacheError:
                    # A store without conditional deletes: delete it if it is still ours.
                    body, _, _ = self._read_claim(held.name)
                    if (body or {}).get("owner") != held.body.get("owner"):
                        raise _Conflict("not ours") from None
                    self._delete(held.name, "releasing a claim")
            except _Conflict:
                log.warning("the claim on %s had been taken over by another machine",
                            held.body.get("key"))  # fmt: skip
            except CacheError as exc:
                # Not raised: the work is done, and the claim goes stale by itself.
                log.warning("could not release the claim on %s (%s); it is taken over %.0fs "
                            "after its last renewal", held.body.get("key"), exc,
                            self.claim_timeout)  # fmt: skip

    def _stamp_claim(self, key: str, job_id: Any) -> None:
        """Write the job id into this process's claim on ``key`` (for whoever takes it over)."""
        if not job_id:
            return
        with self._held_lock:
            held = self._held.get(self._claim_name(key))
        if held is None:
            return
        with held.guard:
            if held.lost or held.body.get("job_id") == job_id:
                return
            body = {**held.body, "job_id": job_id, "at": time.time()}
            try:
                held.etag = self._put(held.name, _encode(body), "renewing a claim",
                                      if_match=held.etag)  # fmt: skip
                held.body = body
            except (_Conflict, CacheError) as exc:
                log.info("could not write job %s into the claim on %s (%s)", job_id, key, exc)

    # -- day frames ------------------------------------------------------------------

    def _day_name(self, key: str) -> str:
        return self._name("days", f"{key}.parquet")

    def day_url(self, key: str) -> str:
        """The ``s3://`` URL of a request key's day file (pandas, pyarrow and Dask read it)."""
        return f"s3://{self.bucket}/{self._day_name(key)}"

    def day_object(self, key: str) -> str:
        """A request key's day file as pyarrow's S3 filesystem names it (``bucket/key``)."""
        return f"{self.bucket}/{self._day_name(key)}"

    def arrow_s3(self) -> ArrowS3:
        """Settings for pyarrow's ``S3FileSystem`` to read this bucket (Dask workers)."""
        region = getattr(getattr(self.s3, "meta", None), "region_name", None)
        return ArrowS3.from_options(self._storage_options, region=region)

    def has_day(self, key: str, record: Mapping[str, Any] | None) -> bool:
        """Whether the team holds the day file of ``record`` (without mirroring it).

        A record with a result names a day file the bucket holds (it is uploaded before
        the record); with the bucket unreachable only the mirror counts.
        """
        result = (record or {}).get("result") or {}
        if result.get("content_hash") and not (record or {}).get("offline"):
            return True
        return self.local.day_path(key).exists()

    def day_object_size(self, key: str) -> int | None:
        """The size of a day file in the bucket, ``None`` when the bucket has none.

        Raises
        ------
        BucketUnreachable
            When the bucket cannot be reached.
        """
        try:
            response = self._call("head_object", "checking a day file", Key=self._day_name(key))
        except _Missing:
            return None
        return int(response["ContentLength"])

    def _fetch_day(self, key: str, result: Mapping[str, Any]) -> bool:
        """Copy the bucket's day file to the mirror if it has the recorded content hash."""
        try:
            data, _, _ = self._get_bytes(self._day_name(key), "reading a day file")
        except _Missing:
            log.warning("the day file of %s is missing from %s; it is fetched again through "
                        "its job", key, self.url)  # fmt: skip
            return False
        if _content_hash(data) != result.get("content_hash"):
            # Another machine replaced it since the record was read (or it is damaged).
            log.info("the day file of %s in %s differs from its record", key, self.url)
            return False
        atomic_write(self.local.day_path(key), lambda tmp: Path(tmp).write_bytes(data))
        return True

    def _ensure_local(self, key: str, record: Mapping[str, Any] | None) -> None:
        """Fetch the day file into the mirror when the mirror lacks the recorded one."""
        result = (record or {}).get("result") or {}
        if not result.get("content_hash") or (record or {}).get("offline"):
            return
        path = self.local.day_path(key)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size == result.get("size"):
                return  # read_day checks the hash
        try:
            self._fetch_day(key, result)
        except BucketUnreachable as exc:
            self._fall_back("day files are read", exc)

    def day_path(self, key: str) -> Path:
        """The local mirror path of a request key's day frame, fetched on first use.

        The mirror's copy of the record (as the last :meth:`job` read it from the bucket)
        says which file is current; a missing or outdated mirror file is fetched.
        """
        self._ensure_local(key, self.local.job(key))
        return self.local.day_path(key)

    def check_writable(self) -> None:
        """Make sure the mirror and the bucket can be written, before any export is spent.

        Writes and removes a probe object with ``If-None-Match: *``, which also proves the
        storage honours conditional writes.

        Raises
        ------
        CacheError
            Saying which of the two cannot be written and what to do.
        """
        self.local.check_writable()
        name = self._name("probes", f"{uuid.uuid4().hex}.json")
        # A conflict means an object of that random name exists: writable all the same.
        with contextlib.suppress(_Conflict):
            self._put(name, _encode({"probe": True, **self._me}), "writing a probe", create=True)
        with contextlib.suppress(_Missing):
            self._delete(name, "removing a probe")

    def write_day(
        self, key: str, table: pa.Table, *, record: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Store a canonical day table in the mirror and the bucket; return its record data.

        The mirror file is written first (as :meth:`clickkit.cache.Cache.write_day`),
        then uploaded whole; the caller's record update comes after, so a record never
        names a day file the bucket does not hold.
        """
        meta = self.local.write_day(key, table, record=record)
        path = self.local.day_path(key)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CacheError(f"the day file {path} could not be read back ({exc}).") from None
        if _content_hash(data) != meta["content_hash"]:
            raise CacheError(
                f"the day file {path} changed while it was written (another process on this "
                "machine?); try again."
            )
        self._put(self._day_name(key), data, "uploading a day file",
                  content_type="application/vnd.apache.parquet")  # fmt: skip
        return meta

    def read_day(self, key: str, record: Mapping[str, Any] | None = None) -> pa.Table | None:
        """The day table, or ``None`` when neither the mirror nor the bucket has it whole.

        The mirror's file is verified against ``record`` (the team's record: content
        hash, size, rows); a missing, outdated or damaged mirror file is fetched from
        the bucket again. With the bucket unreachable, a mirrored day is still served.
        """
        self._ensure_local(key, record)
        table = self.local.read_day(key, record)
        if table is not None:
            if (record or {}).get("offline"):
                log.warning("serving %s from the local mirror %s: the bucket is unreachable",
                            key, self.root)  # fmt: skip
            return table
        result = (record or {}).get("result") or {}
        if not result.get("content_hash") or (record or {}).get("offline"):
            return None
        try:
            fetched = self._fetch_day(key, result)
        except BucketUnreachable as exc:
            self._fall_back("day files are read", exc)
            return None
        return self.local.read_day(key, record) if fetched else None

    def drop_day(self, key: str) -> None:
        """Remove the mirror's copy of a day frame (the team's copy and record stay)."""
        self.local.drop_day(key)

    def rebuild_index(self) -> int:
        """Rebuild the local mirror's index from its day files (the bucket is the truth)."""
        return self.local.rebuild_index()
