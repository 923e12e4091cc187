"""The "cloud storage" host: signed result URLs, S3-style errors, and file responses.

Downloads answer 302 with a ``Location`` on this second server, like impact.com's
short-lived signed cloud-storage links: ``/results/{job}/{run}.{ext}?Expires=<epoch>
&Signature=<hex hmac>`` (``/results/{job}/{run}.p{page}.{ext}`` for a page of a paged
result). As real object stores do, it refuses a request that also carries an
``Authorization`` header (400), and a bad or expired signature (403). With
``compress_storage`` it serves objects the way cloud storage serves objects stored
compressed: ``Content-Encoding: gzip``, the gzip bytes as the body and their length as
``Content-Length``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import hmac
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from clickkit.sandbox.formats import CONTENT_TYPES, EXTENSIONS

if TYPE_CHECKING:
    from clickkit.sandbox.engine import Engine

__all__ = [
    "StorageApp",
    "UrlSigner",
    "drop_connection",
    "file_response",
    "result_filename",
    "result_path",
]

_RESULT_PATH = re.compile(
    r"^/results/(?P<job>[0-9a-f-]{36})/(?P<run>\d+)(?:\.p(?P<page>\d+))?\.(?P<ext>csv|json|xml)$"
)


class UrlSigner:
    """HMAC-SHA256 signatures for result paths.

    Examples
    --------
    >>> signer = UrlSigner(b"k")
    >>> url = signer.sign("/results/x/1.csv", 2000000000)
    >>> url.startswith("/results/x/1.csv?Expires=2000000000&Signature=")
    True
    >>> signer.valid("/results/x/1.csv", "2000000000", url.rsplit("=", 1)[1])
    True
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _signature(self, path: str, expires: str) -> str:
        message = f"GET\n{path}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, path: str, expires: int) -> str:
        """Return ``path`` with ``Expires`` and ``Signature`` query parameters."""
        return f"{path}?Expires={expires}&Signature={self._signature(path, str(expires))}"

    def valid(self, path: str, expires: str, signature: str) -> bool:
        """Whether ``signature`` matches ``path`` and ``expires``."""
        return hmac.compare_digest(self._signature(path, expires), signature)


def drop_connection(environ: dict[str, Any]) -> None:
    """Close the client connection abruptly, then stop the response.

    werkzeug treats the ``ConnectionError`` as a dropped connection and writes nothing.
    """
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed by the client
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("connection dropped by fault injection")


def file_response(
    data: bytes,
    result_format: str,
    filename: str,
    environ: dict[str, Any],
    *,
    fault: str | None = None,
    short: Callable[[], bytes] | None = None,
    gzipped: bool = False,
) -> Response:
    """A 200 file answer, with the download fault of :meth:`FaultInjector.download_fault`.

    Parameters
    ----------
    data : bytes
        The body as sent (the gzip bytes when ``gzipped``).
    result_format, filename : str
        For ``Content-Type`` and ``Content-Disposition``.
    environ : dict
        The WSGI environ (to drop the connection).
    fault : {None, "truncate", "empty", "short"}
        ``truncate``: half the body under the full ``Content-Length``, then the connection
        drops. ``empty``: no body and no ``Content-Length``. ``short``: the body ``short``
        returns (whole rows only, uncompressed; compressed here when ``gzipped``), without
        ``Content-Length``, ending normally.
    short : callable, optional
        Returns the cut body for ``fault="short"``.
    gzipped : bool
        Send ``Content-Encoding: gzip``.

    Examples
    --------
    >>> file_response(b"a,b\\r\\n", "CSV", "x.csv", {}).headers["Content-Length"]
    '5'
    >>> "Content-Length" in file_response(b"a", "CSV", "x.csv", {}, fault="empty").headers
    False
    """
    headers = {
        "Content-Type": CONTENT_TYPES[result_format],
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    if fault == "empty":
        # No Content-Length: werkzeug sends it chunked, with no chunk before the last.
        return Response(_chunks(), 200, headers=headers, direct_passthrough=True)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    if fault == "short" and short is not None:
        body = short()
        if gzipped:
            body = gzip.compress(body, compresslevel=1, mtime=0)
        return Response(_chunks(body), 200, headers=headers, direct_passthrough=True)
    headers["Content-Length"] = str(len(data))
    if fault != "truncate":
        return Response(data, 200, headers=headers)

    def partial() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        drop_connection(environ)

    return Response(partial(), 200, headers=headers, direct_passthrough=True)


def _chunks(*parts: bytes) -> Iterator[bytes]:
    # A generator, so werkzeug cannot work out a Content-Length for it.
    yield from parts


def result_path(job_id: str, run: int, result_format: str, page: int | None = None) -> str:
    """The storage path of a run's result (``page`` for one page of a paged result).

    Examples
    --------
    >>> result_path("j", 2, "JSON", 3)
    '/results/j/2.p3.json'
    """
    suffix = "" if page is None else f".p{page}"
    return f"/results/{job_id}/{run}{suffix}.{EXTENSIONS[result_format]}"


def result_filename(job_id: str, day: str, result_format: str) -> str:
    """The attachment filename of a result."""
    return f"ClickExport_{day}_{job_id}.{EXTENSIONS[result_format]}"


def _s3_error(status: int, code: str, message: str, **extra: str) -> Response:
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return Response(body, status, content_type="application/xml")


class StorageApp:
    """WSGI app of the storage host.

    Parameters
    ----------
    engine : Engine
        Source of jobs, results, clock, faults and statistics.
    signer : UrlSigner
        Checks the ``Signature`` of each request.
    """

    def __init__(self, engine: Engine, signer: UrlSigner) -> None:
        self.engine = engine
        self.signer = signer

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        engine = self.engine
        engine.count_request("Storage")
        stall = engine.faults.stall("Storage")
        if stall:
            time.sleep(stall)
        if engine.faults.drop("Storage"):
            drop_connection(environ)
        response = self._answer(Request(environ))
        engine.count_status(response.status_code)
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        error = self.engine.faults.error_status("Storage")
        if error:
            return _s3_error(error, "InternalError", "We encountered an internal error.")
        if request.method not in ("GET", "HEAD"):
            return _s3_error(405, "MethodNotAllowed", "The method is not allowed.")
        if "Authorization" in request.headers:
            # What S3 and GCS answer when a signed URL is fetched with credentials too.
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                "parameter, Signature query string parameter or the Authorization header "
                "should be specified",
                ArgumentName="Authorization",
            )
        expires = request.args.get("Expires", "")
        signature = request.args.get("Signature", "")
        if not expires.isdigit() or not signature:
            return _s3_error(403, "AccessDenied", "Query-string authentication required.")
        if not self.signer.valid(request.path, expires, signature):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        now = self.engine.now()
        if int(expires) < now.timestamp():
            return _s3_error(
                403,
                "AccessDenied",
                "Request has expired",
                Expires=expires,
                ServerTime=now.isoformat("T", "seconds"),
            )
        return self._object(request)

    def _object(self, request: Request) -> Response:
        engine = self.engine
        match = _RESULT_PATH.match(request.path)
        no_key = _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if match is None:
            return no_key
        job = engine.find(match["job"])
        number = int(match["run"])
        if job is None or not 1 <= number <= len(job.runs):
            return no_key
        fmt = job.params.result_format
        if match["ext"] != EXTENSIONS[fmt] or (match["page"] is None) == engine.paged(job):
            return no_key
        run = job.runs[number - 1]
        state = engine.state(job, run)
        if state.completed is None or engine.expired(state.completed):
            return no_key
        page = 1 if match["page"] is None else int(match["page"])
        if not 1 <= page <= engine.numpages(job, run):
            return no_key
        gzipped = engine.settings.compress_storage
        data, _ = engine.result(job, run, page, compressed=gzipped)
        filename = result_filename(job.id, job.params.date.isoformat(), fmt)
        return file_response(
            data,
            fmt,
            filename,
            request.environ,
            fault=engine.faults.download_fault(),
            short=lambda: engine.result_short(job, run, page),
            gzipped=gzipped,
        )
