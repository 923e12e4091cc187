"""``clickkit doctor``: what an impact.com account really does where the docs are silent.

The free checks use only the Jobs endpoints (``Jobs`` and ``Jobs/{id}``), which cost no
ClickExport quota: do the credentials and base URL work, is ``IR-Version`` accepted,
which rate-limit headers come back, what shape the Jobs list has, whether Job numbers and
booleans arrive as strings, which time zone the Job dates carry and whether it matches
the ``timezone`` setting, and which ClickExport jobs exist.

With ``spend_one`` the doctor spends **one** of the 10 daily ClickExport calls (after a
confirmation): it exports that day as CSV, waits, downloads every page and reports the
real headers, column set, value spellings, compression, paging and job timings, and
which :class:`~clickkit.sandbox.Sandbox` settings reproduce them.

The report's JSON is redacted: no token (it is never read), no IP address, job ids and
the account SID only as short blake2b hashes, and nothing from click rows except column
names and spelling classes.

Examples
--------
>>> from clickkit.sandbox import Sandbox
>>> from clickkit.api import ImpactApi
>>> with Sandbox(profile="pessimistic") as sb:  # doctest: +SKIP
...     api = ImpactApi(sb.account_sid, sb.auth_token, base_url=sb.url)
...     report = run_doctor(api, timezone="UTC", workdir=Path("doctor"))
...     report.timezone["matches"]
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import html
import ipaddress
import json
import logging
import re
import shlex
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from clickkit.api import Downloaded, ImpactApi, Job, NotReady
from clickkit.errors import (
    ApiError,
    AuthenticationError,
    ClickkitError,
    ConfigurationError,
    ExportOutcomeUnknown,
    InvalidRequestError,
    NotFoundError,
    RateLimited,
    ServerError,
    ValidationError,
    WaitTimeout,
)
from clickkit.jobs import Check, Waiter, poll_delays
from clickkit.schema import COLUMNS

__all__ = ["DoctorReport", "analyse_csv", "redact", "run_doctor", "short_hash"]

log = logging.getLogger("clickkit")

DAILY_EXPORTS = 10
#: Job fields the v16 spec types as numbers/booleans but documented examples send as text.
TYPED_JOB_FIELDS = ("RecordsProcessed", "PercentageComplete", "Replayable")
_DATE_FIELDS = (
    "CreatedDate",
    "StartedDate",
    "CompletedDate",
    "AbandonedDate",
    "CancelledDate",
    "FailedDate",
    "LastProgressUpdateDate",
)
_EXPORT_COLUMNS = tuple(c.source for c in COLUMNS)
_BRAND_COLUMNS = ("AdCampaign", "AdGroup", "Keyword", "MatchType", "Channel")
_MONEY_COLUMNS = ("CpcBid", "Payout")
# Spellings of booleans that are classes, not data; anything else is reported as "other".
_BOOL_PAIRS = {
    "true": "false",
    "TRUE": "FALSE",
    "True": "False",
    "1": "0",
    "Y": "N",
    "y": "n",
    "yes": "no",
    "Yes": "No",
    "YES": "NO",
    "T": "F",
    "t": "f",
}
_FALSE_TO_TRUE = {v: k for k, v in _BOOL_PAIRS.items()}
# Zones tried first when Job offsets must be turned into a zone name (offsets alone
# cannot tell America/New_York from America/Toronto).
_COMMON_ZONES = (
    "UTC", "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Toronto",
    "America/Vancouver", "America/Mexico_City", "America/Sao_Paulo", "Europe/London",
    "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Amsterdam",
    "Europe/Madrid", "Europe/Rome", "Europe/Stockholm", "Europe/Warsaw", "Europe/Helsinki",
    "Europe/Istanbul", "Europe/Moscow", "Asia/Jerusalem", "Asia/Dubai", "Asia/Kolkata",
    "Asia/Singapore", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Tokyo", "Asia/Seoul",
    "Australia/Perth", "Australia/Brisbane", "Australia/Sydney", "Australia/Melbourne",
    "Pacific/Auckland", "Africa/Johannesburg",
)  # fmt: skip
_TIMEZONE_HOW = "Client(timezone=...), CLICKKIT_TIMEZONE or --timezone"
_SAMPLE_BYTES = 2 << 20  # the head of a result file that is classified
_SAMPLE_ROWS = 5000


# ---------------------------------------------------------------------------------------
# Redaction


def short_hash(value: str, kind: str = "") -> str:
    """A short blake2b label for an identifier, e.g. ``job:1a2b3c4d5e6f``.

    Examples
    --------
    >>> short_hash("IRabc", "sid")
    'sid:5bbbc70601be'
    """
    digest = hashlib.blake2b(value.encode(), digest_size=6).hexdigest()
    return f"{kind}:{digest}" if kind else digest


_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)


def _mask_ip(match: re.Match[str]) -> str:
    try:
        ipaddress.ip_address(match.group(0))
    except ValueError:
        return match.group(0)  # a time of day such as 02:03:13, not an address
    return "<ip>"


def _redact_text(text: str, secrets: Mapping[str, str]) -> str:
    for secret, label in secrets.items():
        if secret:
            text = text.replace(secret, label)
    text = _UUID.sub(lambda m: short_hash(m.group(0).lower(), "job"), text)
    text = _IPV6.sub(_mask_ip, text)
    return _IPV4.sub(_mask_ip, text)


def redact(value: Any, secrets: Mapping[str, str] | None = None) -> Any:
    """``value`` (JSON-like) with identifiers hashed and IP addresses masked.

    ``secrets`` maps exact strings (account SID, job ids) to the labels that replace
    them; any UUID left is hashed as a job id, any IPv4/IPv6 address becomes ``<ip>``.

    Examples
    --------
    >>> redact({"url": "http://127.0.0.1:8080/Mediapartners/IRabc"}, {"IRabc": "sid:x"})
    {'url': 'http://<ip>:8080/Mediapartners/sid:x'}
    """
    secrets = secrets or {}
    if isinstance(value, str):
        return _redact_text(value, secrets)
    if isinstance(value, Mapping):
        return {_redact_text(str(k), secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(v, secrets) for v in value]
    return value


# ---------------------------------------------------------------------------------------
# Watching the raw answers


@dataclass
class _Seen:
    """One answer as the doctor saw it: only headers that describe the API, no secrets."""

    endpoint: str
    status: int
    headers: dict[str, str]
    body: Any = None


_INTERESTING = re.compile(r"ratelimit|retry-after|^content-(type|encoding|length)$|^date$", re.I)


def _endpoint(path: str) -> str:
    path = re.sub(r"\.(json|xml)$", "", path.rstrip("/"))
    if path.endswith("/ClickExport"):
        return "ClickExport"
    if path.endswith("/Jobs"):
        return "JobList"
    if re.search(r"/Jobs/[^/]+/Download$", path):
        return "Download"
    if re.search(r"/Jobs/[^/]+/Replay$", path):
        return "Replay"
    if re.search(r"/Jobs/[^/]+$", path):
        return "Job"
    return "Other"


class _Tap:
    """Records the status, headers and (for the Jobs list) body of every API answer.

    :class:`~clickkit.api.ImpactApi` parses answers into values and keeps no raw
    headers, but the doctor's whole point is the raw shape. A response hook
    (:meth:`~clickkit.api.ImpactApi.response_hook`) sees each answer before the API
    layer does and changes nothing. An API object without one leaves the doctor with
    what it exposes (``rate_limit``, ``Job.raw``), and the rest is reported as not
    observable.
    """

    def __init__(self, api: ImpactApi) -> None:
        self._api = api
        self.seen: list[_Seen] = []

    @property
    def available(self) -> bool:
        return callable(getattr(self._api, "response_hook", None))

    def _hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        try:
            endpoint = _endpoint(urlsplit(response.url).path)
            headers = {k: v for k, v in response.headers.items() if _INTERESTING.search(k)}
            if "Location" in response.headers:
                headers["Location"] = "(present)"  # a signed URL: never kept
            body = None
            if endpoint in ("JobList", "Job") and not kwargs.get("stream"):
                content_type = response.headers.get("Content-Type", "")
                if "json" in content_type or response.content.lstrip()[:1] in (b"{", b"["):
                    try:
                        body = json.loads(response.content)
                    except ValueError:
                        body = None
                elif response.content.lstrip()[:1] == b"<":
                    body = "<xml>"
            self.seen.append(_Seen(endpoint, response.status_code, headers, body))
        except Exception as exc:  # observing must never break the call itself
            log.debug("doctor: could not observe an answer: %s", exc)

    def last(self, endpoint: str) -> _Seen | None:
        return next((s for s in reversed(self.seen) if s.endpoint == endpoint), None)

    @contextmanager
    def watching(self) -> Iterator[_Tap]:
        if not self.available:
            yield self
            return
        with self._api.response_hook(self._hook):
            yield self


def _rate_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if re.search(r"ratelimit|retry-after", k, re.I)}


def _describe_rate_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    names = {k.lower(): k for k in headers}
    return {
        "headers": dict(headers),
        "hourly": "x-ratelimit-limit-hour" in names and "x-ratelimit-remaining-hour" in names,
        "reset": "ratelimit-reset" in names or "x-ratelimit-reset" in names,
        "day_headers": sorted(k for k in headers if k.lower().endswith("-day")),
        "brand_style": "x-ratelimit-limit" in names,  # the brand API's spelling
    }


# ---------------------------------------------------------------------------------------
# Jobs


def _value_type(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _field_types(jobs: Sequence[Job]) -> dict[str, Any]:
    """Per typed field the JSON type(s) seen, and whether they say ``string_fields``."""
    types: dict[str, list[str]] = {}
    for name in TYPED_JOB_FIELDS:
        seen = {_value_type(job.raw.get(name)) for job in jobs} - {"absent"}
        types[name] = sorted(seen) or ["absent"]
    kinds = {t for ts in types.values() for t in ts} - {"absent"}
    string_fields = (
        None if not kinds or ("string" in kinds and len(kinds) > 1) else (kinds == {"string"})
    )
    return {"types": types, "string_fields": string_fields, "jobs_seen": len(jobs)}


def _job_dates(jobs: Iterable[Job]) -> list[dt.datetime]:
    """Every date of the jobs as written (aware when the API gave an offset)."""
    out = []
    for job in jobs:
        for name in _DATE_FIELDS:
            text = job.raw.get(name)
            if not text or not isinstance(text, str):
                continue
            try:
                out.append(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
            except ValueError:
                continue
    return out


def _format_offset(offset: dt.timedelta | None) -> str:
    if offset is None:
        return "none"
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _consistent(zone: str, instants: Sequence[dt.datetime]) -> bool:
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return all(d.astimezone(tz).utcoffset() == d.utcoffset() for d in instants)


def zone_candidates(instants: Sequence[dt.datetime], limit: int = 5) -> list[str]:
    """IANA zones whose offsets agree with every aware datetime, common zones first."""
    aware = [d for d in instants if d.tzinfo is not None]
    if not aware:
        return []
    found = [z for z in _COMMON_ZONES if _consistent(z, aware)]
    if not found:
        rest = sorted(
            z
            for z in available_timezones()
            if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
        )
        found = [z for z in rest if _consistent(z, aware)][:limit]
    if not found:
        found = [z for z in sorted(available_timezones()) if _consistent(z, aware)][:limit]
    return found[:limit]


def _timezone_section(
    setting: str, job_dates: Sequence[dt.datetime], click_dates: Sequence[dt.datetime] = ()
) -> dict[str, Any]:
    aware = [d for d in (*job_dates, *click_dates) if d.tzinfo is not None]
    naive = [d for d in job_dates if d.tzinfo is None]
    offsets = sorted({_format_offset(d.utcoffset()) for d in job_dates if d.tzinfo})
    section: dict[str, Any] = {
        "setting": setting,
        "job_offsets": offsets,
        "naive_job_dates": len(naive),
        "dates_seen": len(aware),
        "matches": None,
        "candidates": [],
        "advice": "",
    }
    if click_dates:
        agree = {_format_offset(d.utcoffset()) for d in click_dates} <= set(offsets) or not offsets
        section["event_dates_agree_with_jobs"] = agree
    if not aware:
        section["advice"] = (
            "no dated job seen: the account's time zone could not be checked (run with "
            "--spend-one, or again once a job exists)."
        )
        return section
    section["matches"] = _consistent(setting, aware)
    section["candidates"] = zone_candidates(aware)
    if section["matches"]:
        section["advice"] = f"the timezone setting {setting!r} matches the offsets the API sends."
    else:
        best = section["candidates"][0] if section["candidates"] else "the account's zone"
        section["advice"] = (
            f"the API sends offsets {', '.join(offsets) or 'of other zones'} but the timezone "
            f"setting is {setting!r}: set timezone to {best!r} ({_TIMEZONE_HOW}); otherwise "
            "days are cut at the wrong midnight."
        )
    return section


def _exports_section(jobs: Sequence[Job], label: Callable[[str], str]) -> dict[str, Any]:
    exports = [j for j in jobs if j.type.lower() == "clickexport"]
    statuses = collections.Counter(j.status or "?" for j in exports)
    newest = max(
        exports,
        key=lambda j: j.created or dt.datetime.min.replace(tzinfo=dt.UTC),
        default=None,
    )
    others = (j for j in jobs if j.type.lower() != "clickexport")
    other_types = collections.Counter(j.type or "?" for j in others)
    return {
        "count": len(exports),
        "statuses": dict(sorted(statuses.items())),
        "newest": None
        if newest is None
        else {
            "id": label(newest.id),
            "status": newest.status,
            "created": newest.raw.get("CreatedDate") or "",
            "completed": newest.raw.get("CompletedDate") or "",
        },
        "other_job_types": dict(sorted(other_types.items())),
    }


# ---------------------------------------------------------------------------------------
# Result files


_FIELD = re.compile(r'"((?:[^"]|"")*)"|([^,\r\n"]*)')
_DATE_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)$")
_DATE_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")


def _csv_records(text: str, *, eof: bool, limit: int) -> list[list[tuple[str, bool]]]:
    """Records of CSV text as ``(value, was_quoted)`` pairs; quoting is what csv hides."""
    rows: list[list[tuple[str, bool]]] = []
    pos, end = 0, len(text)
    while pos < end and len(rows) < limit:
        row: list[tuple[str, bool]] = []
        complete = True
        while True:
            match = _FIELD.match(text, pos)
            assert match is not None  # the second branch matches the empty string
            quoted = match.group(1) is not None
            row.append((match.group(1).replace('""', '"') if quoted else match.group(2), quoted))
            pos = match.end()
            if pos < end and text[pos] == ",":
                pos += 1
                continue
            if text.startswith("\r\n", pos):
                pos += 2
            elif pos < end and text[pos] in "\r\n":
                pos += 1
            elif pos >= end:
                complete = eof
            else:  # a stray quote or a cut-off quoted field: skip to the next line
                newline = text.find("\n", pos)
                complete = newline >= 0 or eof
                pos = end if newline < 0 else newline + 1
            break
        if complete and row != [("", False)]:
            rows.append(row)
    return rows


def _bool_spelling(counts: Mapping[str, int]) -> tuple[str | None, str | None]:
    """The (true, false) spellings in UniqueClick values, the other inferred from its pair."""
    trues = [v for v in counts if v in _BOOL_PAIRS]
    falses = [v for v in counts if v in _FALSE_TO_TRUE]
    true = max(trues, key=lambda v: counts[v]) if trues else None
    false = max(falses, key=lambda v: counts[v]) if falses else None
    if true is None and false is not None:
        true = _FALSE_TO_TRUE[false]
    if false is None and true is not None:
        false = _BOOL_PAIRS[true]
    return true, false


def _majority(counts: Mapping[str, int]) -> str | None:
    return max(counts, key=lambda k: counts[k]) if counts else None


def analyse_csv(path: str | Path) -> dict[str, Any]:
    """Classify a CSV result: header, spellings, BOM and line ends (no row values kept).

    Looks at the first 2 MiB (at most 5000 rows). Returns a dict with ``columns``,
    ``missing``, ``extra``, ``bom``, ``line_ending`` (``"\\r\\n"``, ``"\\n"`` or
    ``"mixed"``), ``unique_click`` (spelling counts), ``csv_true``/``csv_false``,
    ``event_date_style`` and ``money_style`` (with counts per class), ``rows_sampled``.
    The aware EventDate values are returned under the private key ``_event_dates`` for
    the time zone check and are never reported.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        raw = fh.read(_SAMPLE_BYTES)
    eof = size <= _SAMPLE_BYTES
    bom = raw.startswith(b"\xef\xbb\xbf")
    crlf = raw.count(b"\r\n")
    lf = raw.count(b"\n") - crlf
    line_ending = None if not (crlf or lf) else "\r\n" if not lf else "\n" if not crlf else "mixed"
    text = raw[3:].decode("utf-8", "replace") if bom else raw.decode("utf-8", "replace")
    records = _csv_records(text, eof=eof, limit=_SAMPLE_ROWS + 1)
    header = [name.strip() for name, _ in records[0]] if records else []
    rows = records[1:]
    where = {name: i for i, name in enumerate(header)}

    def column(name: str) -> Iterator[tuple[str, bool]]:
        i = where.get(name)
        if i is None:
            return
        for row in rows:
            if i < len(row):
                yield row[i]

    unique: collections.Counter[str] = collections.Counter()
    for value, _ in column("UniqueClick"):
        if value != "":
            unique[value if value in _BOOL_PAIRS or value in _FALSE_TO_TRUE else "other"] += 1
    dates: collections.Counter[str] = collections.Counter()
    aware: list[dt.datetime] = []
    for value, _ in column("EventDate"):
        value = value.strip()
        if not value:
            continue
        match = _DATE_OFFSET.search(value)
        if match:
            dates["Z" if match.group(1) in ("Z", "z") else "offset"] += 1
            with suppress(ValueError):
                aware.append(dt.datetime.fromisoformat(value.replace("z", "Z")))
        elif _DATE_NAIVE.match(value):
            dates["naive"] += 1
        else:
            dates["other"] += 1
    money: collections.Counter[str] = collections.Counter()
    for name in _MONEY_COLUMNS:
        for value, quoted in column(name):
            value = value.strip()
            if not value:
                continue
            if value.lstrip("+-").startswith("$"):
                money["dollar"] += 1
            elif not _NUMBER.match(value):
                money["other"] += 1
            else:
                money["quoted" if quoted else "plain"] += 1
    true, false = _bool_spelling(unique)
    return {
        "columns": header,
        "missing": [c for c in _EXPORT_COLUMNS if c not in where],
        "extra": [c for c in header if c not in _EXPORT_COLUMNS],
        "bom": bom,
        "line_ending": line_ending,
        "unique_click": dict(unique),
        "csv_true": true,
        "csv_false": false,
        "event_date_style": _majority(dates),
        "event_date_styles": dict(dates),
        "money_style": _majority(money),
        "money_styles": dict(money),
        "rows_sampled": len(rows),
        "_event_dates": aware,
    }


# ---------------------------------------------------------------------------------------
# The report


@dataclass
class DoctorReport:
    """What ``clickkit doctor`` found; print it, or write :meth:`to_json` (redacted).

    Attributes
    ----------
    ok : bool
        The credentials and base URL work (the free checks ran).
    checked_at : str
        When (UTC, ISO-8601).
    base_url, account, ir_version : str
        The API address, the hashed account SID and the ``IR-Version`` sent.
    connection : dict
        ``status`` of the Jobs call, ``ir_version_accepted``, ``message`` (401/403 explained).
    rate_limit : dict
        Rate-limit headers of the free calls: ``headers``, ``hourly``, ``reset``,
        ``day_headers``, ``brand_style``.
    jobs_list : dict
        ``shape`` (``object``/``list``/``xml``/``unknown``), ``key``, ``paging_fields``,
        ``count``.
    job_fields : dict
        ``types`` per Job field that the spec types, and ``string_fields`` (bool or None).
    timezone : dict
        ``setting``, ``job_offsets``, ``matches``, ``candidates``, ``advice``.
    click_exports : dict
        Existing ClickExport jobs: ``count``, ``statuses``, ``newest``.
    spend : dict or None
        What ``spend_one`` did and saw (None when not asked).
    sandbox_settings : dict
        :class:`~clickkit.sandbox.Sandbox` option -> the value observed on this account.
    sandbox_command : str
        ``clickkit sandbox serve ...`` with those settings.
    notes, problems : list of str
        Findings worth reading, and what went wrong.
    spent_job_id : str or None
        The raw id of the job ``spend_one`` created (never in the text or JSON), so a
        caller can record it and never export that day again.
    """

    ok: bool
    checked_at: str
    base_url: str
    account: str
    ir_version: str
    connection: dict[str, Any] = field(default_factory=dict)
    rate_limit: dict[str, Any] = field(default_factory=dict)
    jobs_list: dict[str, Any] = field(default_factory=dict)
    job_fields: dict[str, Any] = field(default_factory=dict)
    timezone: dict[str, Any] = field(default_factory=dict)
    click_exports: dict[str, Any] = field(default_factory=dict)
    spend: dict[str, Any] | None = None
    sandbox_settings: dict[str, Any] = field(default_factory=dict)
    sandbox_command: str = ""
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    spent_job_id: str | None = field(default=None, repr=False, compare=False)
    _secrets: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-able dict, redacted (see :func:`redact`)."""
        data = {
            "ok": self.ok,
            "checked_at": self.checked_at,
            "base_url": self.base_url,
            "account": self.account,
            "ir_version": self.ir_version,
            "connection": self.connection,
            "rate_limit": self.rate_limit,
            "jobs_list": self.jobs_list,
            "job_fields": self.job_fields,
            "timezone": self.timezone,
            "click_exports": self.click_exports,
            "spend": self.spend,
            "sandbox_settings": self.sandbox_settings,
            "sandbox_command": self.sandbox_command,
            "notes": self.notes,
            "problems": self.problems,
        }
        return redact(data, self._secrets)

    def to_json(self, indent: int | None = 2) -> str:
        """The redacted report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, default=str)

    def write(self, path: str | Path) -> Path:
        """Write the redacted JSON to ``path``; return it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    def _lines(self) -> list[tuple[str, list[str]]]:
        """The report as titled sections of text lines (what ``str()`` prints)."""
        d = self.to_dict()
        sections = [("connection", _connection_lines(d))]
        if not d["ok"]:
            return [*sections, ("problems", d["problems"])]
        headers = d["rate_limit"].get("headers", {})
        sections.append(
            ("rate limits (free calls)", [f"{k}: {v}" for k, v in headers.items()]
             or ["no rate-limit headers"])
        )  # fmt: skip
        sections.append(("jobs", _jobs_lines(d)))
        tz = d["timezone"]
        sections.append(
            (
                "time zone",
                [
                    f"setting {tz.get('setting')!r}; job offsets "
                    f"{', '.join(tz.get('job_offsets') or []) or 'none seen'}; matches: "
                    f"{_yn(tz.get('matches'))}",
                    tz.get("advice", ""),
                ],
            )
        )
        if d["spend"] is not None:
            sections.append(("one export (--spend-one)", _spend_lines(d["spend"])))
        if d["sandbox_settings"]:
            settings = [f"{k} = {v!r}" for k, v in d["sandbox_settings"].items()]
            sections.append(
                ("sandbox settings matching this account", [*settings, d["sandbox_command"]])
            )
        if d["notes"]:
            sections.append(("notes", d["notes"]))
        if d["problems"]:
            sections.append(("problems", d["problems"]))
        return sections

    def __str__(self) -> str:
        out = ["clickkit doctor"]
        for title, lines in self._lines():
            out.append(f"{title}:")
            out.extend(f"  {line}" for line in lines if line)
        return "\n".join(out)

    def _repr_html_(self) -> str:
        parts = ["<div class='clickkit-doctor'><b>clickkit doctor</b>"]
        for title, lines in self._lines():
            items = "".join(f"<li>{html.escape(line)}</li>" for line in lines if line)
            parts.append(f"<div><b>{html.escape(title)}</b><ul>{items}</ul></div>")
        parts.append("</div>")
        return "".join(parts)


def _connection_lines(d: Mapping[str, Any]) -> list[str]:
    """The connection section: where, as whom, and whether IR-Version was accepted."""
    conn = d["connection"]
    return [
        f"{'OK' if d['ok'] else 'FAILED'}: {d['base_url']} as {d['account']}",
        f"Jobs answered {conn.get('status')}; IR-Version {d['ir_version']} "
        f"accepted: {_yn(conn.get('ir_version_accepted'))}",
        *([conn["message"]] if conn.get("message") else []),
    ]


def _jobs_lines(d: Mapping[str, Any]) -> list[str]:
    """The jobs section: the list's shape, its field types, the ClickExport jobs."""
    jobs, fields_, ex = d["jobs_list"], d["job_fields"], d["click_exports"]
    newest = ex.get("newest")
    types = ", ".join(f"{k}={'/'.join(v)}" for k, v in fields_.get("types", {}).items())
    return [
        f"list shape: {jobs.get('shape')}"
        + (f" (key {jobs['key']!r})" if jobs.get("key") else "")
        + f"; paging fields: {', '.join(jobs.get('paging_fields') or []) or 'none'}"
        f"; {jobs.get('count', 0)} job(s)",
        f"field types: {types} -> string_fields={fields_.get('string_fields')}",
        f"ClickExport jobs: {ex.get('count', 0)} {ex.get('statuses', {})}"
        + (
            f"; newest {newest['id']} {newest['status']} created {newest['created']}"
            if newest
            else ""
        ),
    ]


def _spend_lines(spend: Mapping[str, Any]) -> list[str]:
    """The --spend-one section: what was spent, and what the job, download and CSV showed."""
    lines = [
        spend.get("notice", ""),
        f"confirmed: {_yn(spend.get('confirmed'))}; spent: {_yn(spend.get('spent'))}",
    ]
    if spend.get("rate_limit_headers"):
        headers = ", ".join(f"{k}: {v}" for k, v in spend["rate_limit_headers"].items())
        lines.append(f"ClickExport answer headers: {headers}")
    job = spend.get("job") or {}
    if job:
        lines.append(
            f"job {job.get('id')} {job.get('status')}: queued {job.get('queued_seconds')}"
            f" s, ran {job.get('run_seconds')} s"
        )
    dl = spend.get("download") or {}
    if dl:
        lines.append(
            f"download: {dl.get('pages')} page(s), numpages {dl.get('numpages')}, "
            f"Content-Encoding {dl.get('content_encoding') or 'none'}, Content-Length "
            f"{'present' if dl.get('content_length') else 'absent'}, redirected "
            f"{_yn(dl.get('redirected'))}"
        )
    csv = spend.get("csv") or {}
    if csv:
        lines.append(
            f"columns: {len(csv.get('columns', []))}; missing: "
            f"{', '.join(csv.get('missing') or []) or 'none'}; extra: "
            f"{', '.join(csv.get('extra') or []) or 'none'}"
        )
        lines.append(
            f"UniqueClick {csv.get('csv_true')}/{csv.get('csv_false')}, EventDate "
            f"{csv.get('event_date_style')}, money {csv.get('money_style')}, BOM "
            f"{_yn(csv.get('bom'))}, line ends {csv.get('line_ending')!r}"
        )
    return lines


def _yn(value: Any) -> str:
    return "unknown" if value is None else "yes" if value else "no"


# ---------------------------------------------------------------------------------------
# Running it


def _explain(exc: ApiError) -> str:
    """What a failed Jobs call says about the setup, and what to change."""
    if isinstance(exc, AuthenticationError) and exc.status == 401:
        return (
            "401: the Account SID or Auth Token is wrong. Copy both from impact.com "
            "(Settings > API) into IMPACT_ACCOUNT_SID and IMPACT_AUTH_TOKEN."
        )
    if isinstance(exc, AuthenticationError):
        return (
            "403: the credentials were accepted but may not read Jobs: the token is "
            "disabled, is a scoped token without the Jobs/ClickExport endpoints, or belongs "
            "to another account than IMPACT_ACCOUNT_SID. Enable the token or give it these "
            "endpoints."
        )
    if isinstance(exc, NotFoundError):
        return (
            "404: no Jobs endpoint at this base URL; check CLICKKIT_BASE_URL (normally "
            "https://api.impact.com) and the Account SID."
        )
    if isinstance(exc, ValidationError):
        return (
            f"400: the API refused the request ({exc.api_message or 'no message'}); if it "
            "names the version, set CLICKKIT_IR_VERSION to one the account accepts."
        )
    if isinstance(exc, RateLimited):
        return f"429: rate limited; try again in {exc.retry_after:.0f} s."
    if isinstance(exc, ServerError):
        return f"no usable answer ({exc}); check the network, proxy and CLICKKIT_BASE_URL."
    return str(exc)


def _check(api: ImpactApi, job_id: str) -> Check:
    job = api.get_job(job_id)
    if job.status == "COMPLETED":
        return Check("done", job)
    if job.status in ("FAILED", "CANCELLED"):
        return Check("failed", job)
    return Check("pending", job)  # QUEUED, RUNNING, and ERROR (impact.com retries it)


def _seconds(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds(), 3)


def _download_all(
    api: ImpactApi,
    job_id: str,
    workdir: Path,
    label: str,
    *,
    sleep: Callable[[float], None],
    attempts: int = 6,
) -> tuple[list[Downloaded], Job | None]:
    """Every page of the result; the Job when it never became downloadable."""
    stem = label.replace(":", "-")
    pages: list[Downloaded] = []
    delays = poll_delays(initial=1.0, factor=2.0, maximum=15.0)
    first: Downloaded | NotReady | None = None
    for _ in range(attempts):
        first = api.download(job_id, workdir / f"doctor-{stem}.p1")
        if isinstance(first, Downloaded):
            break
        sleep(next(delays))
    if not isinstance(first, Downloaded):
        return [], first.job if isinstance(first, NotReady) else None
    pages.append(first)
    for page in range(2, (first.numpages or 1) + 1):
        result = api.download(job_id, workdir / f"doctor-{stem}.p{page}", page=page)
        if isinstance(result, Downloaded):
            pages.append(result)
    return pages, None


def _sandbox_command(settings: Mapping[str, Any]) -> str:
    parts = ["clickkit", "sandbox", "serve"]
    for name, value in settings.items():
        flag = "--" + name.replace("_", "-")
        if name == "line_ending":
            parts += [flag, "crlf" if value == "\r\n" else "lf"]
        elif name == "missing_columns":
            parts += [flag, ",".join(value)]
        elif isinstance(value, bool):
            parts.append(flag if value else "--no-" + name.replace("_", "-"))
        else:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def run_doctor(
    api: ImpactApi,
    *,
    timezone: str,
    workdir: str | Path,
    spend_one: dt.date | None = None,
    confirm: Callable[[str], bool] | None = None,
    quota_left: int | None = None,
    on_submit: Callable[[str], None] | None = None,
    now: Callable[[], dt.datetime] | None = None,
    poll_initial: float = 1.0,
    poll_max: float = 30.0,
    wait_timeout: float = 1800.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DoctorReport:
    """Check what the account behind ``api`` really does; spend one export only if asked.

    Parameters
    ----------
    api : ImpactApi
        The API client (real credentials, or a sandbox).
    timezone : str
        The client's ``timezone`` setting, checked against the offsets the API sends.
    workdir : str or Path
        Where the ``spend_one`` result is downloaded (the files are deleted afterwards).
    spend_one : datetime.date, optional
        Export this one day as CSV (one of the 10 daily ClickExport calls) and inspect it.
    confirm : callable, optional
        Called with the notice about the cost; the export happens only if it returns
        True. None: passing ``spend_one`` is the confirmation.
    quota_left : int, optional
        Exports left today from the caller's ledger, shown in the notice (the server's
        ``X-RateLimit-Remaining-day`` wins when seen). 0 means nothing is spent.
    on_submit : callable, optional
        Called with the job id the moment the ClickExport answers, so it can be recorded.
    now : callable, optional
        The clock (aware); used to refuse a ``spend_one`` day that has not begun.
    poll_initial, poll_max, wait_timeout : float
        Polling schedule of ``Jobs/{id}`` and the longest wait (seconds).
    sleep : callable
        The sleep function.

    Returns
    -------
    DoctorReport

    Raises
    ------
    ConfigurationError
        ``timezone`` is not an IANA zone.
    InvalidRequestError
        ``spend_one`` is a day that has not begun in ``timezone`` (it would export nothing).

    Examples
    --------
    >>> report = run_doctor(api, timezone="UTC", workdir="tmp")  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"timezone={timezone!r} is not an IANA time zone name; use e.g. 'America/New_York'."
        ) from None
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    if spend_one is not None and spend_one > clock().astimezone(zone).date():
        raise InvalidRequestError(
            f"spend_one={spend_one}: that day has not begun in {timezone}; an export of it "
            "would be empty and still spend quota. Pass a past day."
        )
    workdir = Path(workdir)
    secrets = {api.account_sid: short_hash(api.account_sid, "sid")}

    def label(job_id: str) -> str:
        secrets.setdefault(job_id, short_hash(job_id, "job"))
        return secrets[job_id]

    report = DoctorReport(
        ok=False,
        checked_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        base_url=api.base_url,
        account=secrets[api.account_sid],
        ir_version=str(api.ir_version),
        _secrets=secrets,
    )
    tap = _Tap(api)
    with tap.watching():
        jobs = _free_checks(api, report, tap, label, timezone)
        if report.ok and spend_one is not None:
            _spend(
                api,
                report,
                tap,
                label,
                day=spend_one,
                confirm=confirm,
                quota_left=quota_left,
                on_submit=on_submit,
                workdir=workdir,
                waiter=Waiter(poll_initial=poll_initial, poll_max=poll_max, sleep=sleep),
                wait_timeout=wait_timeout,
                sleep=sleep,
                jobs=jobs,
                timezone=timezone,
            )
    if not tap.available:
        report.notes.append(
            "raw answers were not observable with this API object: header names and the "
            "Jobs list shape come from parsed values only."
        )
    report.sandbox_command = _sandbox_command(report.sandbox_settings)
    return report


def _free_checks(
    api: ImpactApi,
    report: DoctorReport,
    tap: _Tap,
    label: Callable[[str], str],
    timezone: str,
) -> list[Job]:
    """The checks that cost no ClickExport: Jobs list and one Jobs/{id}."""
    try:
        jobs = api.list_jobs()
    except ApiError as exc:
        report.connection = {
            "status": exc.status,
            "ir_version_accepted": None if exc.status != 400 else False,
            "message": _explain(exc),
        }
        report.problems.append(report.connection["message"])
        return []
    report.ok = True
    seen = tap.last("JobList")
    report.connection = {
        "status": seen.status if seen else 200,
        "ir_version_accepted": True,
        "message": "",
    }
    headers = _rate_headers(seen.headers) if seen else {}
    report.rate_limit = _describe_rate_headers(headers)
    if not headers:
        state = api.rate_limit
        report.rate_limit["parsed"] = {
            "limit_hour": state.limit_hour,
            "remaining_hour": state.remaining_hour,
            "reset_seconds": state.reset_seconds,
        }
    report.jobs_list = _list_shape(seen.body if seen else None, len(jobs))
    # One Jobs/{id}: the single-job shape may differ from the list's (free as well).
    detail: list[Job] = []
    newest = max(
        jobs, key=lambda j: j.created or dt.datetime.min.replace(tzinfo=dt.UTC), default=None
    )
    if newest is not None and newest.id:
        try:
            detail.append(api.get_job(newest.id))
        except ApiError as exc:
            report.notes.append(f"Jobs/{{id}} of the newest job answered {exc.status}.")
    report.job_fields = _field_types([*jobs, *detail])
    if report.job_fields["string_fields"] is not None:
        report.sandbox_settings["string_fields"] = report.job_fields["string_fields"]
    report.timezone = _timezone_section(timezone, _job_dates([*jobs, *detail]))
    _note_zone(report)
    report.click_exports = _exports_section(jobs, label)
    limit_hour = _int(headers, "X-RateLimit-Limit-hour")
    if limit_hour is not None:
        report.sandbox_settings["hourly_limit"] = limit_hour
    _note_rate(report)
    return jobs


def _int(headers: Mapping[str, str], name: str) -> int | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            try:
                return int(float(value))
            except ValueError:
                return None
    return None


def _list_shape(body: Any, count: int) -> dict[str, Any]:
    """How the Jobs list came back: an object with ``Jobs``, a bare list, or XML."""
    if isinstance(body, Mapping):
        key = next((k for k in body if not str(k).startswith("@")), None)
        return {
            "shape": "object",
            "key": "Jobs" if "Jobs" in body else key,
            "paging_fields": sorted(str(k) for k in body if str(k).startswith("@")),
            "count": count,
        }
    if isinstance(body, list):
        return {"shape": "list", "key": None, "paging_fields": [], "count": count}
    if body == "<xml>":
        return {"shape": "xml", "key": None, "paging_fields": [], "count": count}
    return {"shape": "unknown", "key": None, "paging_fields": [], "count": count}


def _note_zone(report: DoctorReport) -> None:
    tz = report.timezone
    if tz.get("candidates"):
        report.sandbox_settings["timezone"] = (
            tz["setting"] if tz.get("matches") else tz["candidates"][0]
        )
    for note in (
        tz["advice"] if tz.get("matches") is False else "",
        "some Job dates carry no offset: the account zone cannot be read."
        if tz.get("naive_job_dates")
        else "",
        "EventDate offsets differ from the Job dates' offsets."
        if tz.get("event_dates_agree_with_jobs") is False
        else "",
    ):
        if note and note not in report.notes:
            report.notes.append(note)


def _note_rate(report: DoctorReport) -> None:
    rate = report.rate_limit
    if rate.get("brand_style"):
        report.notes.append(
            "the API sends the brand-style X-RateLimit-Limit/-Remaining headers; clickkit "
            "reads them as the hourly ones."
        )
    if rate.get("headers") and not rate.get("hourly"):
        report.notes.append("no X-RateLimit-*-hour headers: hourly limits cannot be tracked.")
    if not rate.get("reset") and rate.get("headers"):
        report.notes.append("no RateLimit-Reset header: waits after a 429 follow Retry-After.")


def _spend(
    api: ImpactApi,
    report: DoctorReport,
    tap: _Tap,
    label: Callable[[str], str],
    *,
    day: dt.date,
    confirm: Callable[[str], bool] | None,
    quota_left: int | None,
    on_submit: Callable[[str], None] | None,
    workdir: Path,
    waiter: Waiter,
    wait_timeout: float,
    sleep: Callable[[float], None],
    jobs: Sequence[Job],
    timezone: str,
) -> None:
    """Export ``day`` once (after confirmation) and inspect every part of the answer.

    Four steps, each filling its part of ``report.spend``: ask, export, wait for the
    job, then download the result and read what its CSV says about the account.
    """
    if not _confirmed(api, report, day=day, confirm=confirm, quota_left=quota_left):
        return
    job_id = _export_one(api, report, tap, day=day, on_submit=on_submit, jobs=jobs)
    if job_id is None:
        return
    job = _finished_job(api, report, label, job_id, waiter=waiter, wait_timeout=wait_timeout)
    fields_ = _field_types([*jobs, job])
    report.job_fields = fields_
    if fields_["string_fields"] is not None:
        report.sandbox_settings["string_fields"] = fields_["string_fields"]
    click_dates: list[dt.datetime] = []
    if job.status == "COMPLETED":
        found = _download_and_read(api, report, tap, label, job_id, workdir=workdir, sleep=sleep)
        if found is None:
            return
        click_dates = found.pop("_event_dates")
        report.spend["csv"] = found
        _settings_from_csv(report, found)
    elif job.status in ("FAILED", "CANCELLED"):
        report.problems.append(f"the export ended {job.status}; impact.com support can help.")
    report.timezone = _timezone_section(timezone, _job_dates([*jobs, job]), click_dates)
    _note_zone(report)


def _confirmed(
    api: ImpactApi,
    report: DoctorReport,
    *,
    day: dt.date,
    confirm: Callable[[str], bool] | None,
    quota_left: int | None,
) -> bool:
    """Say what the export costs and whether any is left; return whether to spend it."""
    server_left = api.rate_limit.remaining_day
    left = server_left if server_left is not None else quota_left
    source = "server headers" if server_left is not None else "local ledger"
    notice = (
        f"--spend-one {day.isoformat()} spends one of the {DAILY_EXPORTS} ClickExport calls "
        "impact.com allows per day"
        + (f" (left today: {left}, from the {source})." if left is not None else
           " (left today: unknown).")
        + " An identical export of this day made earlier returns the same job and still "
        "spends one."
    )  # fmt: skip
    report.spend = {
        "date": day.isoformat(),
        "notice": notice,
        "quota_left_before": left,
        "confirmed": False,
        "spent": False,
    }
    if left is not None and left <= 0:
        report.problems.append("no ClickExport call left today: nothing was spent.")
        return False
    if confirm is None:
        log.warning("%s Spending it (asked for with spend_one).", notice)
    confirmed = True if confirm is None else bool(confirm(notice))
    report.spend["confirmed"] = confirmed
    if not confirmed:
        report.notes.append("the export was not confirmed: nothing was spent.")
    return confirmed


def _export_one(
    api: ImpactApi,
    report: DoctorReport,
    tap: _Tap,
    *,
    day: dt.date,
    on_submit: Callable[[str], None] | None,
    jobs: Sequence[Job],
) -> str | None:
    """Send the one ClickExport and record its answer; the job id, or None if it failed."""
    spend = report.spend
    try:
        submission = api.submit_click_export(day, result_format="CSV")
    except ExportOutcomeUnknown as exc:
        spend["spent"] = None  # it may have reached impact.com
        report.problems.append(
            f"{exc} Run the doctor again later without --spend-one: the Jobs list shows "
            "whether the job exists."
        )
        return None
    except ApiError as exc:
        seen = tap.last("ClickExport")
        spend["rate_limit_headers"] = _rate_headers(seen.headers) if seen else {}
        spend["status"] = exc.status
        spend["spent"] = None if exc.status != 429 else False
        report.problems.append(f"ClickExport failed: {exc}")
        return None
    spend["spent"] = True
    report.spent_job_id = submission.job_id
    if on_submit is not None:
        on_submit(submission.job_id)
    seen = tap.last("ClickExport")
    headers = _rate_headers(seen.headers) if seen else {}
    spend["status"] = seen.status if seen else 200
    spend["answer_status"] = submission.status
    spend["rate_limit_headers"] = headers
    spend["rate_limit"] = _describe_rate_headers(headers)
    spend["quota_left_after"] = api.rate_limit.remaining_day
    limit_day = _int(headers, "X-RateLimit-Limit-day")
    if limit_day is not None:
        report.sandbox_settings["daily_export_limit"] = limit_day
    if not any(k.lower().endswith("-day") for k in headers):
        report.notes.append(
            "the ClickExport answer carries no -day headers: the daily quota is tracked by "
            "the local ledger only."
        )
    spend["known_job"] = any(j.id == submission.job_id for j in jobs)
    if spend["known_job"]:
        report.notes.append("the export returned a job that already existed (a duplicate).")
    return submission.job_id


def _finished_job(
    api: ImpactApi,
    report: DoctorReport,
    label: Callable[[str], str],
    job_id: str,
    *,
    waiter: Waiter,
    wait_timeout: float,
) -> Job:
    """Wait for the spent job (at most ``wait_timeout`` s) and record its timings."""
    try:
        checks = waiter.wait([job_id], lambda j: _check(api, j), timeout=wait_timeout)
        job = checks[job_id].job or api.get_job(job_id)
    except WaitTimeout:
        job = api.get_job(job_id)
        report.problems.append(
            f"the job was still {job.status} after {wait_timeout:g} s; its result can be "
            "downloaded later without spending another export."
        )
    report.spend["job"] = {
        "id": label(job_id),
        "status": job.status,
        "created": job.raw.get("CreatedDate") or "",
        "started": job.raw.get("StartedDate") or "",
        "completed": job.raw.get("CompletedDate") or "",
        "queued_seconds": _seconds(job.created, job.started),
        "run_seconds": _seconds(job.started, job.completed),
        "records_processed": job.records_processed,
    }
    return job


def _download_and_read(
    api: ImpactApi,
    report: DoctorReport,
    tap: _Tap,
    label: Callable[[str], str],
    job_id: str,
    *,
    workdir: Path,
    sleep: Callable[[float], None],
) -> dict[str, Any] | None:
    """Download the result, note how it came, and analyse its CSV (rows are not kept)."""
    workdir.mkdir(parents=True, exist_ok=True)
    pages: list[Downloaded] = []
    try:
        pages, still = _download_all(api, job_id, workdir, label(job_id), sleep=sleep)
        if not pages:
            report.problems.append(
                "the completed job's result was not downloadable "
                f"({still.status if still else 'no answer'})."
            )
            return None
        _note_download(report, pages, tap.last("Download"))
        return analyse_csv(pages[0].path)
    except (ClickkitError, OSError) as exc:
        report.problems.append(f"the result could not be downloaded or read: {exc}")
        return None
    finally:
        for page in pages:
            page.path.unlink(missing_ok=True)  # click rows are not kept


def _note_download(report: DoctorReport, pages: Sequence[Downloaded], download: Any) -> None:
    """Record how the result came: pages, encoding, length, redirect."""
    first = pages[0]
    redirected = download.status in (301, 302, 303, 307, 308) if download else None
    report.spend["download"] = {
        "pages": len(pages),
        "numpages": first.numpages,
        "total": first.total,
        "content_type": first.content_type,
        "content_encoding": first.content_encoding,
        "content_length": all(p.length_checked for p in pages),
        "redirected": redirected,
        "bytes": sum(p.size for p in pages),
    }
    if first.content_encoding in ("gzip", "x-gzip"):
        report.sandbox_settings["compress_storage"] = True
    elif redirected:
        report.sandbox_settings["compress_storage"] = False
    if first.numpages is not None and first.numpages > 1:
        report.notes.append(f"the CSV result came in {first.numpages} pages.")
    if not report.spend["download"]["content_length"]:
        report.notes.append(
            "a download came without Content-Length: a body cut at a row boundary cannot "
            "be detected by size."
        )


def _settings_from_csv(report: DoctorReport, found: Mapping[str, Any]) -> None:
    """The sandbox settings (and notes) that the analysed CSV shows."""
    settings = report.sandbox_settings
    if found["csv_true"] is not None:
        settings["csv_true"] = found["csv_true"]
        settings["csv_false"] = found["csv_false"]
    if found["event_date_style"] in ("offset", "Z", "naive"):
        settings["event_date_style"] = found["event_date_style"]
    if found["money_style"] in ("plain", "quoted", "dollar"):
        settings["money_style"] = found["money_style"]
    settings["csv_bom"] = found["bom"]
    if found["line_ending"] in ("\r\n", "\n"):
        settings["line_ending"] = found["line_ending"]
    if found["columns"]:
        extras = [c for c in found["extra"] if c in _BRAND_COLUMNS]
        settings["extra_columns"] = bool(extras)
        settings["missing_columns"] = tuple(found["missing"])
    unknown = [c for c in found["extra"] if c not in _BRAND_COLUMNS]
    if unknown:
        report.notes.append(f"columns clickkit does not know: {', '.join(unknown)}.")
    if found["missing"]:
        report.notes.append(
            f"schema columns absent: {', '.join(found['missing'])} (read as nulls)."
        )
