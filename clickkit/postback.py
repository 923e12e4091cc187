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

Examples
--------
>>> with PostbackReceiver() as receiver:                              # doctest: +SKIP
...     client = ck.Client.sandbox(postback_url=receiver.url_template,
...                                postback=receiver)
...     df = client.clicks("2026-10-01")   # no status polls
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from typing import Any

from clickkit.errors import ConfigurationError

log = logging.getLogger("clickkit")

#: Query placeholders impact.com substitutes in a GET notification URL.
URL_QUERY = "JobId={JobId}&Status={Status}"


class PostbackReceiver:
    """An HTTP server that turns Job Completion postbacks into wake-ups.

    Parameters
    ----------
    host : str
        Interface to bind; loopback by default.
    port : int
        Port; 0 picks a free one.
    secret : str, optional
        The path secret; a random 128-bit token by default.

    Attributes
    ----------
    received : int
        Postbacks accepted so far (duplicates included).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, secret: str | None = None) -> None:
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
            # Request lines carry the secret: never print them.
            def log(self, type: str, message: str, *args: Any) -> None:
                pass

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
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="clickkit-postback", daemon=True
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

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        expected = f"/postback/{self._secret}"
        if not secrets.compare_digest(request.path.rstrip("/"), expected):
            return Response("forbidden", status=403)(environ, start_response)
        job_id = request.args.get("JobId") or request.args.get("job_id") or ""
        if not job_id and request.method == "POST":
            body = request.get_data(cache=False, as_text=True)[:10_000]
            try:
                payload = json.loads(body) if body else {}
            except ValueError:
                payload = {}
            if isinstance(payload, dict):
                job_id = str(payload.get("JobId") or payload.get("job_id") or "")
            job_id = job_id or request.form.get("JobId", "")
        job_id = job_id.strip()[:64]
        with self._lock:
            self.received += 1
            if job_id:
                self._pending.add(job_id)
        log.debug("postback received for job %s", job_id or "(unnamed)")
        self._event.set()
        return Response("ok", status=200)(environ, start_response)
