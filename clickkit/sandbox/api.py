"""The impact.com Partner API as a WSGI app: ClickExport and Jobs.

Paths (each also with a ``.json`` suffix, which asks for JSON like ``Accept:
application/json`` does; otherwise answers are XML under ``<ImpactRadiusResponse>``):

- ``GET  /Mediapartners/{SID}/ClickExport`` -> 200 ``{"Status","QueuedUri","ResultUri",
  "ReplayUri"}``, 400 on invalid input, 429 when the daily quota is spent
- ``GET  /Mediapartners/{SID}/Jobs`` -> ``{"Jobs": [...]}``
- ``GET  /Mediapartners/{SID}/Jobs/{id}`` -> the Job object
- ``GET  /Mediapartners/{SID}/Jobs/{id}/Download[?Mode=Stream][&Page=N]`` -> 202 with the
  Job while unfinished, 302 to a signed storage URL (or 200 with the file for
  ``Mode=Stream``), for FAILED/CANCELLED jobs what ``failed_download`` says (202 or 200
  with the Job, 404 or 409 with the error envelope), 404 once past retention or for a
  ``Page`` beyond the last; JSON and XML results are split into pages of ``page_size``
  rows (``Page`` is 1-based, default 1; CSV is never paged)
- ``PUT  /Mediapartners/{SID}/Jobs/{id}/Replay`` (or ``POST`` with ``_method=PUT``) ->
  200 with the Job as it is at that moment (the new run is queued ``replay_lag`` later),
  403 while queued, running or awaiting an error retry
- ``GET  /_sandbox/stats`` -> the statistics, without auth and without being counted

Every answer carries ``X-RateLimit-Limit-hour``, ``X-RateLimit-Remaining-hour`` and
``RateLimit-Reset``; errors use ``{"Status":"ERROR","Message":...[, "Errors":[...]]}``,
and 429 answers ``{"message":"API rate limit exceeded"}`` when ``rate_limit_body`` is
``"kong"``.

Choices where impact.com's documentation is silent: ``UniqueClick=FALSE`` means "no
unique filter" (but is a different parameter set from leaving it out); an omitted
``Date`` is resolved to today in the account time zone before duplicate detection;
unknown query parameters (``StartDate``...) are ignored; ``CreatedAfter`` and
``CreatedBefore`` are inclusive dates in the account time zone. The order of checks is
routing, authentication (when ``auth_before_rate_limit``; a refusal there spends nothing
and shows the hourly headers as they are), the hourly limit, the ClickExport quota (when
``failed_exports_count``: every authenticated ClickExport spends one call whatever its
answer), injected faults, authentication (otherwise), then the endpoint itself.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Callable
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from clickkit.sandbox.engine import Engine, Refused, rate_headers
from clickkit.sandbox.formats import RESULT_FORMATS
from clickkit.sandbox.jobs import ExportParams, Job, Run
from clickkit.sandbox.storage import (
    UrlSigner,
    drop_connection,
    file_response,
    result_filename,
    result_path,
)

__all__ = ["ApiApp", "render"]

_SID = r"^/Mediapartners/(?P<sid>[^/]+)"
_JOB = r"/Jobs/(?P<job>[^/]+)"
_ROUTES: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (re.compile(_SID + r"/ClickExport$"), "ClickExport", ("GET",)),
    (re.compile(_SID + r"/Jobs$"), "JobList", ("GET",)),
    (re.compile(_SID + _JOB + r"$"), "Job", ("GET",)),
    (re.compile(_SID + _JOB + r"/Download$"), "Download", ("GET",)),
    (re.compile(_SID + _JOB + r"/Replay$"), "Replay", ("PUT", "POST")),
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNFINISHED = ("QUEUED", "RUNNING", "ERROR")


def render(body: dict[str, Any], status: int, as_json: bool) -> Response:
    """Render an API body as JSON or as ``<ImpactRadiusResponse>`` XML.

    Examples
    --------
    >>> render({"Status": "ERROR", "Message": "x"}, 400, as_json=False).get_data()[38:]
    b'<ImpactRadiusResponse><Status>ERROR</Status><Message>x</Message></ImpactRadiusResponse>'
    """
    if as_json:
        return Response(json.dumps(body), status, content_type="application/json")
    parts = ['<?xml version="1.0" encoding="UTF-8"?><ImpactRadiusResponse>']
    _xml_fields(parts, body)
    parts.append("</ImpactRadiusResponse>")
    return Response("".join(parts), status, content_type="application/xml; charset=utf-8")


def _xml_fields(parts: list[str], body: dict[str, Any]) -> None:
    for name, value in body.items():
        parts.append(f"<{name}>")
        if isinstance(value, list):
            item = name[:-1] if name.endswith("s") else name  # Jobs -> Job, Errors -> Error
            for element in value:
                parts.append(f"<{item}>")
                _xml_fields(parts, element)
                parts.append(f"</{item}>")
        elif isinstance(value, dict):
            _xml_fields(parts, value)
        elif isinstance(value, bool):
            parts.append("true" if value else "false")
        else:
            parts.append(escape("" if value is None else str(value)))
        parts.append(f"</{name}>")


def _refusal(refused: Refused, as_json: bool, *, kong: bool = False) -> Response:
    """The error envelope ``{"Status":"ERROR","Message":...}`` with the refusal's headers.

    With ``kong`` a 429 gets the gateway's own JSON body instead, whatever was asked for.
    """
    if kong and refused.status == 429:
        response = Response(
            json.dumps({"message": "API rate limit exceeded"}),
            429,
            content_type="application/json; charset=utf-8",
        )
        response.headers.update(refused.headers)
        return response
    body: dict[str, Any] = {"Status": "ERROR", "Message": refused.message}
    if refused.errors:
        body["Errors"] = refused.errors
    response = render(body, refused.status, as_json)
    response.headers.update(refused.headers)
    return response


class ApiApp:
    """WSGI app of the API host.

    Parameters
    ----------
    engine : Engine
        State and rules.
    signer : UrlSigner
        Signs the result URLs of 302 answers.
    storage_url : callable
        Returns the storage host's base URL (known once its server listens).
    """

    def __init__(self, engine: Engine, signer: UrlSigner, storage_url: Callable[[], str]) -> None:
        self.engine = engine
        self.signer = signer
        self.storage_url = storage_url
        self._handlers: dict[str, Callable[[Request, re.Match[str], bool], Response]] = {
            "ClickExport": self._click_export,
            "JobList": self._job_list,
            "Job": self._job,
            "Download": self._download,
            "Replay": self._replay,
        }

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._answer(request)
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        engine = self.engine
        settings = engine.settings
        path = request.path
        as_json = path.endswith(".json") or "application/json" in request.headers.get("Accept", "")
        path = path.removesuffix(".json")
        if path == "/_sandbox/stats":
            stats = engine.stats()
            stats["status"] = {str(k): v for k, v in stats["status"].items()}
            return Response(json.dumps(stats), 200, content_type="application/json")

        kong = settings.rate_limit_body == "kong"
        auth_first = settings.auth_before_rate_limit
        route = _route(path)
        if route is not None:
            engine.count_request(route[1])
            if auth_first:
                try:
                    self._authenticate(request, route[0]["sid"])
                except Refused as refused:
                    # Refused at the door: the account's hourly budget is untouched.
                    response = _refusal(refused, as_json, kong=kong)
                    response.headers.update(rate_headers(*engine.peek_hourly()))
                    engine.count_status(response.status_code)
                    return response
        try:
            limit, remaining, reset = engine.spend_hourly()
        except Refused as refused:
            response = _refusal(refused, as_json, kong=kong)
            engine.count_status(response.status_code)
            return response
        charged = False
        try:
            if route is None:
                raise Refused(404, f"No API resource at {request.path}.")
            match, endpoint, methods = route
            if (
                endpoint == "ClickExport"
                and settings.failed_exports_count
                and request.method in methods
                and (auth_first or self._credentials_ok(request, match["sid"]))
            ):
                charged = self._charge_export(request)
            self._inject_faults(endpoint, request)
            if not auth_first:
                self._authenticate(request, match["sid"])
            if request.method not in methods:
                raise Refused(405, f"{request.method} is not allowed on {request.path}.")
            response = self._handlers[endpoint](request, match, as_json)
        except Refused as refused:
            response = _refusal(refused, as_json, kong=kong)
        response.headers.update(rate_headers(limit, remaining, reset))
        if charged and "X-RateLimit-Remaining-day" not in response.headers:
            day_limit, day_remaining = engine.daily()
            response.headers["X-RateLimit-Limit-day"] = str(day_limit)
            response.headers["X-RateLimit-Remaining-day"] = str(day_remaining)
        engine.count_status(response.status_code)
        return response

    def _charge_export(self, request: Request) -> bool:
        """Spend the ClickExport call up front, as a gateway in front of the API would."""
        try:
            params: ExportParams | None = self._export_params(request)
        except Refused:
            params = None  # invalid: it will be answered 400, and still costs a call
        return self.engine.charge_export(params)

    def _inject_faults(self, endpoint: str, request: Request) -> None:
        faults = self.engine.faults
        stall = faults.stall(endpoint)
        if stall:
            time.sleep(stall)
        if faults.drop(endpoint):
            drop_connection(request.environ)
        status = faults.error_status(endpoint)
        if status:
            raise Refused(status, "The server had a temporary problem. Try again later.")

    def _credentials_ok(self, request: Request, path_sid: str) -> bool:
        """Whether the request would pass :meth:`_authenticate` (without refusing it)."""
        try:
            self._authenticate(request, path_sid)
        except Refused:
            return False
        return True

    def _authenticate(self, request: Request, path_sid: str) -> None:
        settings = self.engine.settings
        auth = request.authorization
        if (
            auth is None
            or auth.type != "basic"
            or not _same(auth.username, settings.account_sid)
            or not _same(auth.password, settings.auth_token)
        ):
            raise Refused(
                401,
                "Authentication failed: send HTTP Basic auth with your Account SID and Auth Token.",
                headers={"WWW-Authenticate": 'Basic realm="impact.com"'},
            )
        if path_sid != settings.account_sid:
            raise Refused(403, f"These credentials may not access account {path_sid}.")

    # -- endpoints ---------------------------------------------------------------------

    def _click_export(self, request: Request, match: re.Match[str], as_json: bool) -> Response:
        params = self._export_params(request)
        engine = self.engine
        job = engine.submit(params, spend=not engine.settings.failed_exports_count)
        if engine.faults.lose_export_answer():
            drop_connection(request.environ)  # the job exists; its id never reaches the client
        state = engine.state(job)
        base = f"/Mediapartners/{match['sid']}/Jobs/{job.id}"
        body = {
            "Status": state.status,
            "QueuedUri": base,
            "ResultUri": f"{base}/Download",
            "ReplayUri": f"{base}/Replay",
        }
        response = render(body, 200, as_json)
        limit, remaining = self.engine.daily()
        response.headers["X-RateLimit-Limit-day"] = str(limit)
        response.headers["X-RateLimit-Remaining-day"] = str(remaining)
        return response

    def _export_params(self, request: Request) -> ExportParams:
        args = request.args
        errors: list[dict[str, str]] = []

        def invalid(field: str, message: str) -> None:
            errors.append({"Field": field, "Message": message})

        day = self.engine.today()
        dates = args.getlist("Date")
        if len(dates) > 1:
            invalid("Date", "Date may be given only once (one day per export).")
        elif dates:
            parsed = _parse_date(dates[0])
            if parsed is None:
                invalid("Date", f"Invalid date {dates[0]!r}; expected yyyy-MM-dd.")
            else:
                day = parsed
        fmt = args.get("ResultFormat", "CSV").upper()
        if fmt not in RESULT_FORMATS:
            invalid("ResultFormat", "Must be one of CSV, JSON, XML.")
        ids: dict[str, tuple[str, ...]] = {}
        for field in ("ProgramId", "AdId"):
            values = args.getlist(field)
            if any(not v.isdigit() for v in values):
                invalid(field, "Not a numeric value")
            ids[field] = tuple(sorted(set(values)))
        unique = args.get("UniqueClick")
        if unique is not None:
            unique = unique.upper()
            if unique not in ("TRUE", "FALSE"):
                invalid("UniqueClick", "Must be TRUE or FALSE.")
        if errors:
            raise Refused(400, "Validation Failed", errors=errors)
        return ExportParams(
            date=day,
            program_ids=ids["ProgramId"],
            ad_ids=ids["AdId"],
            sub_ids=tuple(sorted(set(args.getlist("SubId")))),
            unique_click=unique,
            result_format=fmt,
        )

    def _job_list(self, request: Request, match: re.Match[str], as_json: bool) -> Response:
        bounds: dict[str, date | None] = {}
        for field in ("CreatedAfter", "CreatedBefore"):
            raw = request.args.get(field)
            bounds[field] = None if raw is None else _parse_date(raw)
            if raw is not None and bounds[field] is None:
                raise Refused(
                    400,
                    "Validation Failed",
                    errors=[{"Field": field, "Message": "Invalid date; expected YYYY-MM-DD."}],
                )
        after, before = bounds["CreatedAfter"], bounds["CreatedBefore"]
        jobs = []
        for job in self.engine.all_jobs():
            created = job.created.astimezone(self.engine.tz).date()
            if (after is None or created >= after) and (before is None or created <= before):
                jobs.append(self.engine.job_view(job))
        return render({"Jobs": jobs}, 200, as_json)

    def _job(self, request: Request, match: re.Match[str], as_json: bool) -> Response:
        return render(self.engine.job_view(self.engine.job(match["job"])), 200, as_json)

    def _download(self, request: Request, match: re.Match[str], as_json: bool) -> Response:
        engine = self.engine
        job = engine.job(match["job"])
        run = engine.current_run(job)
        state = engine.state(job, run)
        if state.status in _UNFINISHED:
            return render(engine.job_view(job), 202, as_json)
        if state.completed is None:
            answer = engine.settings.failed_download
            if answer in ("202", "200"):
                return render(engine.job_view(job), int(answer), as_json)
            raise Refused(
                int(answer),
                f"Job {job.id} is {state.status} and has no result. Replay it to try again.",
            )
        if engine.expired(state.completed):
            raise Refused(404, f"The result of job {job.id} is no longer available.")
        page = self._page(request, job, run)
        fmt = job.params.result_format
        if request.args.get("Mode", "").lower() == "stream":
            data, _ = engine.result(job, run, page)
            filename = result_filename(job.id, job.params.date.isoformat(), fmt)
            return file_response(
                data,
                fmt,
                filename,
                request.environ,
                fault=engine.faults.download_fault(),
                short=lambda: engine.result_short(job, run, page),
            )
        ttl = int(engine.settings.signed_url_ttl.total_seconds())
        expires = int(engine.now().timestamp()) + ttl
        if engine.faults.faults.expire_signed_urls:
            expires = int(engine.now().timestamp()) - 1
        path = result_path(job.id, run.number, fmt, page if engine.paged(job) else None)
        location = self.storage_url() + self.signer.sign(path, expires)
        response = Response(b"", 302)
        response.headers["Location"] = location
        return response

    def _page(self, request: Request, job: Job, run: Run) -> int:
        """The ``Page`` asked for (1 when absent).

        Raises
        ------
        Refused
            400 for a value that is not a positive integer, 404 beyond the last page.
        """
        raw = request.args.get("Page")
        if raw is None:
            return 1
        if not raw.isdigit() or int(raw) < 1:
            raise Refused(
                400,
                "Validation Failed",
                errors=[{"Field": "Page", "Message": "Must be a positive integer."}],
            )
        page, pages = int(raw), self.engine.numpages(job, run)
        if page > pages:
            raise Refused(404, f"Page {page} of job {job.id} does not exist; it has {pages}.")
        return page

    def _replay(self, request: Request, match: re.Match[str], as_json: bool) -> Response:
        if request.method == "POST":
            override = request.args.get("_method") or request.form.get("_method") or ""
            if override.upper() != "PUT":
                raise Refused(405, "Replay needs PUT (or POST with _method=PUT).")
        job = self.engine.replay(match["job"])
        return render(self.engine.job_view(job), 200, as_json)


def _same(given: str | None, expected: str) -> bool:
    # Constant-time, and on bytes: compare_digest refuses non-ASCII str.
    return hmac.compare_digest((given or "").encode(), expected.encode())


def _route(path: str) -> tuple[re.Match[str], str, tuple[str, ...]] | None:
    for pattern, endpoint, methods in _ROUTES:
        match = pattern.match(path)
        if match:
            return match, endpoint, methods
    return None


def _parse_date(text: str) -> date | None:
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
