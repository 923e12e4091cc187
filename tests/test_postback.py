"""The postback receiver over real loopback HTTP: bad requests get a 4xx, never a traceback."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterator

import pytest
import requests

import clickkit as ck
from clickkit.postback import MAX_BODY, PostbackReceiver


@pytest.fixture
def receiver() -> Iterator[PostbackReceiver]:
    with PostbackReceiver() as started:
        yield started


def _address(receiver: PostbackReceiver) -> tuple[str, int, str]:
    url = urllib.parse.urlsplit(receiver.url)
    return url.hostname or "", url.port or 0, url.path


def _raw(receiver: PostbackReceiver, data: bytes) -> bytes:
    """Send raw bytes, half-close, and return the whole answer."""
    host, port, _ = _address(receiver)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "path",
    [
        "/postback/caf\u00e9".encode(),  # raw UTF-8 bytes in the request line
        b"/postback/%ff%fe%00",
        b"/%C3%A9%E2%82%AC",
        b"/postback/\x01",
        b"postback",
    ],
)
def test_invalid_path_is_a_quiet_404(receiver, capfd, caplog, path) -> None:
    caplog.set_level(logging.DEBUG, logger="clickkit")
    answer = _raw(receiver, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _status(answer) == 404
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert receiver.received == 0


def test_wrong_secret_is_403_and_never_logged(receiver, capfd, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="clickkit")
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    secret = receiver.url.rsplit("/", 1)[1]
    bad = receiver.url.rsplit("/", 1)[0] + "/wrong-secret?JobId=a"
    assert requests.get(bad, timeout=5).status_code == 403
    assert requests.get(receiver.url + "?JobId=ok", timeout=5).status_code == 200
    out, err = capfd.readouterr()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("clickkit", "werkzeug"))]
    assert ours and all(secret not in line for line in ours)
    assert secret not in out + err
    assert "wrong-secret" not in err and receiver.received == 1


@pytest.mark.parametrize("method", ["HEAD", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_are_405(receiver, method) -> None:
    response = requests.request(method, receiver.url + "?JobId=x", timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert receiver.received == 0 and not receiver.seen("x")


def test_huge_body_with_content_length_is_413(receiver, capfd) -> None:
    response = requests.post(receiver.url, data=b"x" * (1 << 20), timeout=10)
    assert response.status_code == 413 and str(MAX_BODY) in response.text
    assert receiver.received == 0
    assert capfd.readouterr().err == ""


def test_declared_size_alone_is_refused(receiver) -> None:
    _, _, path = _address(receiver)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {10**30}\r\n\r\n"
    assert _status(_raw(receiver, head.encode())) == 413
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n"
    assert _status(_raw(receiver, head.encode())) == 400


def test_huge_chunked_body_is_413(receiver, capfd) -> None:
    host, port, path = _address(receiver)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    chunk = b"x" * 65536
    try:
        for _ in range(16):  # 1 MiB in 64 KiB chunks
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may stop listening once it has answered
    response = connection.getresponse()
    assert response.status == 413
    connection.close()
    assert receiver.received == 0 and capfd.readouterr().err == ""


def test_malformed_chunked_body_is_400(receiver, capfd) -> None:
    _, _, path = _address(receiver)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = _raw(receiver, head.encode() + b"zz\r\nabc\r\n0\r\n\r\n")
    assert _status(answer) == 400 and capfd.readouterr().err == ""


def test_small_chunked_json_body_names_the_job(receiver) -> None:
    _, _, path = _address(receiver)
    body = b'{"JobId": "c7", "Status": "COMPLETED"}'
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = _raw(receiver, head.encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert _status(answer) == 200 and receiver.seen("c7")


def test_json_and_form_bodies_name_the_job(receiver) -> None:
    url = receiver.url
    assert requests.post(url, json={"JobId": "j1", "Status": "COMPLETED"}, timeout=5).ok
    assert requests.post(url, data={"JobId": "f1"}, timeout=5).ok
    assert requests.post(url, files={"JobId": (None, "m1")}, timeout=5).ok
    assert requests.post(url, data=b"not json", timeout=5).ok  # wakes, names nothing
    assert all(receiver.seen(job) for job in ("j1", "f1", "m1"))
    assert receiver.received == 4


def test_body_just_under_the_limit_is_read(receiver) -> None:
    body = b'{"JobId": "edge", "pad": "' + b"p" * (MAX_BODY - 100) + b'"}'
    assert len(body) <= MAX_BODY
    assert requests.post(receiver.url, data=body, timeout=5).status_code == 200
    assert receiver.seen("edge")


def test_a_normal_postback_wakes_the_waiter(receiver) -> None:
    woke: list[bool] = []
    waiting = threading.Thread(target=lambda: woke.append(receiver.wait(10)))
    waiting.start()
    url = receiver.url_template.format(JobId="J-42", Status="COMPLETED")
    assert requests.get(url, timeout=5).status_code == 200
    waiting.join(10)
    assert woke == [True] and receiver.seen("J-42") and not receiver.seen("J-42")


def test_job_id_is_cleaned_before_use(receiver) -> None:
    assert requests.get(receiver.url, params={"JobId": " a\nb\x00c "}, timeout=5).ok
    assert receiver.seen("abc")


def test_bad_secret_argument_is_refused_without_echo() -> None:
    with pytest.raises(ck.ConfigurationError, match="postback secret") as info:
        PostbackReceiver(secret="has space/and?query")
    assert "has space" not in str(info.value)
    with PostbackReceiver(secret="fixed-Secret_1.0~") as receiver:
        assert receiver.url.endswith("/postback/fixed-Secret_1.0~")
        assert requests.get(receiver.url + "?JobId=s", timeout=5).ok and receiver.seen("s")
