"""The "cloud storage" host: signed result URLs, S3-style errors, and file responses.

Downloads answer 302 with a ``Location`` on this second server, like impact.com's
short-lived signed cloud-storage links: ``/results/{job}/{run}.{ext}?Expires=<epoch>
&Signature=<hex hmac>``. As real object stores do, it refuses a request that also
carries an ``Authorization`` header (400), and a bad or expired signature (403).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import socket
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from clickkit.sandbox.formats import CONTENT_TYPES, EXTENSIONS

if TYPE_CHECKING:
    from clickkit.sandbox.engine import Engine

__all__ = ["StorageApp", "UrlSigner", "drop_connection", "file_response"]

_RESULT_PATH = re.compile(r"^/results/(?P<job>[0-9a-f-]{36})/(?P<run>\d+)\.(?P<ext>csv|json|xml)$")


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
    truncate: bool = False,
) -> Response:
    """A 200 file answer; with ``truncate``, half the body under the full Content-Length."""
    headers = {
        "Content-Type": CONTENT_TYPES[result_format],
        "Content-Length": str(len(data)),
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    if not truncate:
        return Response(data, 200, headers=headers)

    def partial() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        drop_connection(environ)

    return Response(partial(), 200, headers=headers, direct_passthrough=True)


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
        run = job.runs[number - 1]
        state = engine.state(job, run)
        if state.completed is None or engine.expired(state.completed):
            return no_key
        data, _ = engine.result(job, run)
        fmt = job.params.result_format
        filename = result_filename(job.id, job.params.date.isoformat(), fmt)
        return file_response(
            data, fmt, filename, request.environ, truncate=engine.faults.truncate()
        )
