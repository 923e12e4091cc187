"""A local receiver for impact.com's Job Completion postbacks.

impact.com can call a URL when a Click Export job completes (Settings > Technical >
Event Notifications > Job Completion Events). The best-practice guide prefers that to
polling. With a receiver, clickkit's waiter sleeps until a postback arrives and polls
only as a slow safety net. A postback is never trusted as data: it only wakes the
waiter, which then confirms the job's state through the API.

The receiver listens on 127.0.0.1 by default with a random secret in its path; requests
without the secret get 403. To use it with the real impact.com, make it reachable (for
example behind your reverse proxy or tunnel) and point the Job Completion notification at
``<public base>/postback/<secret>?JobId={JobId}&Status={Status}`` (GET delivery).

The receiver never fails loudly: a path that cannot be ours gets 404, a wrong secret 403,
a method other than GET/POST 405, a body over 64 KiB 413 (refused from its
``Content-Length``, or after at most 64 KiB + 1 bytes of a chunked body), and anything
unexpected 500, all without a traceback. The secret never appears in a log line or an
error.

Examples
--------
>>> with PostbackReceiver() as receiver:                              # doctest: +SKIP
...     client = ck.Client.sandbox(postback_url=receiver.url_template,
...                                postback=receiver)
...     df = client.clicks("2026-10-01")   # no status polls
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import threading
import urllib.parse
from collections.abc import Iterable
from typing import Any

from clickkit.errors import ConfigurationError

log = logging.getLogger("clickkit")

#: Query placeholders impact.com substitutes in a GET notification URL.
URL_QUERY = "JobId={JobId}&Status={Status}"

#: Largest request body read; a Job Completion postback is a few hundred bytes.
MAX_BODY = 64 * 1024

#: A stalled client is dropped after this many seconds.
SOCKET_TIMEOUT = 30.0

_SECRET = re.compile(r"[A-Za-z0-9._~-]+")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    500: "Internal Server Error",
}


class _Refused(Exception):
    """Ends handling of one request with an HTTP status (never leaves the app)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class PostbackReceiver:
    """An HTTP server that turns Job Completion postbacks into wake-ups.

    Parameters
    ----------
    host : str
        Interface to bind; loopback by default.
    port : int
        Port; 0 picks a free one.
    secret : str, optional
        The path secret; a random 128-bit token by default. Letters, digits and
        ``-._~`` only, so it travels unchanged in a URL.

    Attributes
    ----------
    received : int
        Postbacks accepted so far (duplicates included).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, secret: str | None = None) -> None:
        if secret is not None and not (isinstance(secret, str) and _SECRET.fullmatch(secret)):
            # The value is not echoed: it is a secret.
            raise ConfigurationError(
                "the postback secret must be non-empty text of letters, digits and '-._~' "
                "(it is part of the URL); pass another secret= or leave it out for a random one."
            )
        self.host = host
        self._secret = secret or secrets.token_urlsafe(16)
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self.received = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._port = port

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> PostbackReceiver:
        """Start serving in a background thread."""
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            timeout = SOCKET_TIMEOUT

            # Request lines carry the secret: never print them.
            def log(self, type: str, message: str, *args: Any) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except Exception as exc:  # never a traceback on stderr
                    log.debug("postback connection failed: %s", type(exc).__name__)

        if self._server is not None:
            return self
        try:
            self._server = make_server(
                self.host, self._port, self._app, threaded=True, request_handler=QuietHandler
            )
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen for postbacks on {self.host}:{self._port}: {exc.strerror}. "
                "Pass another port."
            ) from None
        self._port = self._server.server_port
        # socketserver prints escaped errors with their traceback; log them quietly.
        self._server.handle_error = _quiet_error
        server = self._server
        self._thread = threading.Thread(
            # A short poll keeps close() quick (the default waits up to 0.5 s).
            target=lambda: server.serve_forever(poll_interval=0.05),
            name="clickkit-postback",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> PostbackReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "listening" if self._server else "stopped"
        return f"<PostbackReceiver {self.host}:{self._port} {state}>"

    @property
    def url(self) -> str:
        """The receiver's URL (it contains the secret: share it only with impact.com)."""
        return f"http://{self.host}:{self._port}/postback/{self._secret}"

    @property
    def url_template(self) -> str:
        """The URL with impact.com's job placeholders, for a GET notification."""
        return f"{self.url}?{URL_QUERY}"

    # -- the waker protocol ------------------------------------------------------------

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True when a postback arrived meanwhile."""
        woke = self._event.wait(timeout)
        self._event.clear()
        return woke

    def seen(self, job_id: str) -> bool:
        """Whether a postback named ``job_id`` arrived since the last ask (consumes it)."""
        with self._lock:
            if job_id in self._pending:
                self._pending.discard(job_id)
                return True
            return False

    # -- HTTP ------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The WSGI application; it never raises (werkzeug would print a traceback)."""
        headers = [("Content-Type", "text/plain; charset=utf-8")]
        try:
            status, text = self._handle(environ)
        except _Refused as refused:
            status, text = refused.status, refused.text
        except Exception as exc:  # the type only: a message could quote the path
            log.debug("postback request failed: %s", type(exc).__name__)
            status, text = 500, "error"
        if status == 405:
            headers.append(("Allow", "GET, POST"))
        body = (text + "\n").encode()
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {_REASONS[status]}", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _handle(self, environ: dict[str, Any]) -> tuple[int, str]:
        """Status and text for one request; :class:`_Refused` for a refusal."""
        _check_path(str(environ.get("PATH_INFO", "")), self._secret)
        method = environ.get("REQUEST_METHOD", "")
        if method not in ("GET", "POST"):
            raise _Refused(405, "method not allowed; use GET or POST")
        declared = _content_length(environ)
        if declared is not None and declared > MAX_BODY:
            raise _Refused(413, f"body too large; at most {MAX_BODY} bytes")
        query = urllib.parse.parse_qs(
            str(environ.get("QUERY_STRING", "")),
            max_num_fields=100,
            encoding="utf-8",
            errors="replace",
        )
        job_id = _first(query, "JobId") or _first(query, "job_id")
        if method == "POST":
            body = _read_body(environ, declared)
            job_id = job_id or _job_id_from_body(environ, body)
        # Only printable text is kept: the id is logged and compared, never trusted.
        job_id = "".join(ch for ch in job_id if ch.isprintable()).strip()[:64]
        with self._lock:
            self.received += 1
            if job_id:
                self._pending.add(job_id)
        log.debug("postback received for job %s", job_id or "(unnamed)")
        self._event.set()
        return 200, "ok"


def _quiet_error(request: Any, client_address: Any) -> None:
    """A server-level error: logged at debug without a traceback (it may quote the path)."""
    import sys

    log.debug("postback server error: %s", type(sys.exc_info()[1]).__name__)


def _check_path(path_info: str, secret: str) -> None:
    """Refuse a path that is not ``/postback/<secret>``: 404 when it cannot be, 403 otherwise."""
    try:
        # PEP 3333: PATH_INFO holds the raw bytes as latin-1; ours is printable ASCII.
        raw = path_info.encode("latin-1")
        path = raw.decode("ascii")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise _Refused(404, "not found") from None
    if not path.isprintable() or not path.startswith("/"):
        raise _Refused(404, "not found")
    expected = f"/postback/{secret}".encode()
    if not secrets.compare_digest(path.rstrip("/").encode(), expected):
        raise _Refused(403, "forbidden")


def _content_length(environ: dict[str, Any]) -> int | None:
    """The declared body size, ``None`` when absent; 400 when it is not a number."""
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not text:
        return None
    if not text.isdigit() or not text.isascii():
        raise _Refused(400, "bad Content-Length")
    # Huge digit strings are refused without converting them.
    return int(text) if len(text) <= 12 else MAX_BODY + 1


def _read_body(environ: dict[str, Any], declared: int | None) -> bytes:
    """At most :data:`MAX_BODY` bytes of the body; 413 when there is more."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if declared is None:
        if not environ.get("wsgi.input_terminated"):
            return b""  # no length and not chunked: no body (PEP 3333)
        limit = MAX_BODY + 1
    else:
        limit = declared
    chunks: list[bytes] = []
    size = 0
    try:
        while size < limit:
            chunk = stream.read(min(limit - size, 16 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, ValueError):  # a malformed chunk header, a stalled client
        raise _Refused(400, "the body could not be read") from None
    if size > MAX_BODY:
        raise _Refused(413, f"body too large; at most {MAX_BODY} bytes")
    return b"".join(chunks)


def _first(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name) or [""]
    return values[0]


def _job_id_from_body(environ: dict[str, Any], body: bytes) -> str:
    """``JobId`` from a JSON object or a form body (urlencoded or multipart)."""
    if not body:
        return ""
    try:
        payload = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        value = payload.get("JobId") or payload.get("job_id")
        return str(value) if value is not None and not isinstance(value, dict | list) else ""
    from werkzeug.wrappers import Request

    # Parse the bounded copy, never the socket.
    form = Request(
        {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
    ).form
    return str(form.get("JobId") or form.get("job_id") or "")
