"""A corporate network: proxies from the environment or from settings reach impact.com,
while loopback (the sandbox) never goes through a proxy.

The "remote" API here is the sandbox under a name only the test proxy can resolve
(``impact.test``), so a request that does not go through the proxy cannot arrive at all.
Nothing leaves the machine.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from helpers import NOW

import clickkit as ck
from clickkit.sandbox import Sandbox

DAY = "2026-11-17"


class _ForwardProxy(http.server.ThreadingHTTPServer):
    """A plain HTTP forward proxy that sends ``impact.test`` to the sandbox on loopback."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _ForwardProxy

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _forward(self) -> None:
        url = urlsplit(self.path)  # a proxy gets the absolute URL
        self.server.seen.append(f"{self.command} {url.hostname}")
        target = f"http://127.0.0.1:{self.server.target_port}{url.path}"
        if url.query:
            target += f"?{url.query}"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection")
        }
        answer = requests.request(
            self.command, target, headers=headers, data=body, allow_redirects=False,
            timeout=30, proxies={"http": None, "https": None},
        )  # fmt: skip
        self.send_response(answer.status_code)
        content = answer.content
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                    "content-encoding"):  # fmt: skip
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_PUT = do_POST = _forward


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=NOW, seed=1, clicks_per_day=300, job_duration=0) as sb:
        yield sb


@pytest.fixture
def proxy(sandbox: Sandbox) -> Iterator[_ForwardProxy]:
    server = _ForwardProxy(urlsplit(sandbox.url).port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _remote_client(sandbox: Sandbox, tmp_path, **options) -> ck.Client:
    port = urlsplit(sandbox.url).port
    return ck.Client(
        sandbox.account_sid, sandbox.auth_token, base_url=f"http://impact.test:{port}",
        clock=sandbox.now, cache_dir=tmp_path / "cache", progress=False, poll_interval=0.02,
        **options,
    )  # fmt: skip


def test_the_proxy_setting_carries_the_api_calls(sandbox, proxy, tmp_path) -> None:
    client = _remote_client(
        sandbox, tmp_path, proxies={"http": f"http://127.0.0.1:{proxy.server_port}"}
    )
    df = client.clicks(DAY)
    assert len(df) > 0
    assert proxy.seen and all(line == "GET impact.test" for line in proxy.seen)
    assert sandbox.stats()["requests"]["ClickExport"] == 1
    client.close()


def test_proxies_from_the_environment_are_honoured(sandbox, proxy, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
    monkeypatch.setenv("NO_PROXY", "")
    client = _remote_client(sandbox, tmp_path)
    assert len(client.clicks(DAY)) > 0
    assert proxy.seen and all("impact.test" in line for line in proxy.seen)
    client.close()


def test_loopback_never_goes_through_a_proxy(make_client, monkeypatch) -> None:
    # A proxy that does not exist: any request sent to it would fail.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    client = make_client()
    assert len(client.clicks(DAY)) > 0
