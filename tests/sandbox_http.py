"""A tiny HTTP client for the sandbox tests: Basic auth, JSON by default, never a proxy."""

from __future__ import annotations

from typing import Any

import requests

from clickkit.sandbox import Sandbox

YESTERDAY = "2026-11-26"


class SandboxHttp:
    """Plain ``requests`` calls to a :class:`~clickkit.sandbox.Sandbox`, as any client would make.

    Parameters
    ----------
    sb : Sandbox
        The server.
    json : bool
        Ask for JSON answers (``Accept: application/json``); XML otherwise.
    auth : (str, str), optional
        Basic credentials; the sandbox's own by default.
    """

    def __init__(
        self, sb: Sandbox, *, json: bool = True, auth: tuple[str, str] | None = None
    ) -> None:
        self.sb = sb
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = auth or (sb.account_sid, sb.auth_token)
        if json:
            self.session.headers["Accept"] = "application/json"
        self.base = f"{sb.url}/Mediapartners/{sb.account_sid}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        url = self.sb.url + path if path.startswith("/") else f"{self.base}/{path}"
        return self.session.get(url, timeout=10, **kwargs)

    def export(self, day: str = YESTERDAY, **params: Any) -> requests.Response:
        return self.get("ClickExport", params={"Date": day, **params})

    def submit(self, day: str = YESTERDAY, **params: Any) -> str:
        response = self.export(day, **params)
        assert response.status_code == 200, response.text
        return response.json()["QueuedUri"]

    def job(self, uri: str) -> dict[str, Any]:
        response = self.get(uri)
        assert response.status_code == 200, response.text
        return response.json()

    def download(self, uri: str, **params: Any) -> requests.Response:
        return self.get(uri + "/Download", params=params, allow_redirects=False)

    def stream(self, uri: str, **params: Any) -> requests.Response:
        return self.download(uri, Mode="Stream", **params)

    def stored(self, uri: str, **params: Any) -> requests.Response:
        """Follow the 302 to the storage host (without credentials)."""
        redirect = self.download(uri, **params)
        assert redirect.status_code == 302, redirect.text
        return requests.get(redirect.headers["Location"], timeout=10)

    def fetch(self, uri: str) -> bytes:
        """Download a finished job through the 302 and the storage host."""
        stored = self.stored(uri)
        assert stored.status_code == 200
        return stored.content

    def replay(self, uri: str) -> requests.Response:
        return self.session.put(self.sb.url + uri + "/Replay", timeout=10)

    def day_remaining(self) -> str:
        """Remaining ClickExport calls, read from a fresh (spending) export of another day."""
        return self.export("2026-10-01").headers["X-RateLimit-Remaining-day"]
