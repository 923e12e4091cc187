"""The HTTP layer against the sandbox over loopback: endpoints, errors, retries, headers."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import NOW

import clickkit as ck
from clickkit.api import CallRecord, Downloaded, ImpactApi, Job, NotReady, retry_after_seconds
from clickkit.sandbox import Sandbox

DAY = dt.date(2026, 11, 17)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=NOW, seed=2, clicks_per_day=200, job_duration=dt.timedelta(0)) as sb:
        yield sb


def _api(sb: Sandbox, **kw) -> tuple[ImpactApi, list[CallRecord], list[float]]:
    calls: list[CallRecord] = []
    sleeps: list[float] = []
    kw.setdefault("sleep", sleeps.append)
    api = ImpactApi(sb.account_sid, sb.auth_token, base_url=sb.url, observer=calls.append, **kw)
    return api, calls, sleeps


def test_export_poll_download_replay_round_trip(sandbox: Sandbox, tmp_path: Path) -> None:
    api, calls, _ = _api(sandbox)
    sub = api.submit_click_export(DAY, program_ids=[1], unique=True)
    assert sub.status in ("QUEUED", "COMPLETED") and len(sub.job_id) == 36
    assert sub.result_uri.endswith(f"/Jobs/{sub.job_id}/Download")
    job = api.get_job(sub.job_id)
    assert job.id == sub.job_id and job.type == "ClickExport"
    result = api.download(sub.job_id, tmp_path / "a.csv")
    assert isinstance(result, Downloaded)
    assert result.size == (tmp_path / "a.csv").stat().st_size and result.checksum
    assert "text/csv" in result.content_type
    assert [c.endpoint for c in calls][-2:] == ["Download", "Storage"]
    stream = api.download(sub.job_id, tmp_path / "b.csv", stream=True)
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "a.csv").read_bytes()
    assert isinstance(stream, Downloaded)
    replayed = api.replay(sub.job_id)
    assert replayed.id == sub.job_id
    assert [j.id for j in api.list_jobs()] == [sub.job_id]


def test_identical_export_returns_the_same_job(sandbox: Sandbox) -> None:
    api, _, _ = _api(sandbox)
    first = api.submit_click_export(DAY, sub_ids=["b", "a"])
    second = api.submit_click_export(DAY, sub_ids=["a", "b"])
    assert first.job_id == second.job_id
    assert sandbox.stats()["requests"]["ClickExport"] == 2


def test_not_ready_download_is_202_with_the_job(tmp_path: Path) -> None:
    with Sandbox(now=NOW, job_duration=dt.timedelta(hours=1)) as sb:
        api, _, _ = _api(sb)
        sub = api.submit_click_export(DAY)
        pending = api.download(sub.job_id, tmp_path / "x.csv")
        assert isinstance(pending, NotReady) and pending.job.status in ("QUEUED", "RUNNING")
        assert not (tmp_path / "x.csv").exists()
        with pytest.raises(ck.NotReplayableError, match="queued or running"):
            api.replay(sub.job_id)


def test_eleventh_export_is_rate_limited_with_seconds_to_reset(sandbox: Sandbox) -> None:
    api, _, _ = _api(sandbox, max_sleep=5)
    for offset in range(10):
        api.submit_click_export(DAY - dt.timedelta(days=offset))
    assert api.rate_limit.remaining_day == 0
    with pytest.raises(ck.RateLimited) as info:
        api.submit_click_export(DAY - dt.timedelta(days=11))
    assert info.value.status == 429 and info.value.retry_after > 3600
    assert "Try again in" in str(info.value)
    assert api.rate_limit.limit_hour == 1000 and api.rate_limit.remaining_hour is not None


def test_errors_map_to_exceptions(sandbox: Sandbox, tmp_path: Path) -> None:
    bad = ImpactApi(sandbox.account_sid, "wrong-token", base_url=sandbox.url)
    with pytest.raises(ck.AuthenticationError, match="401") as info:
        bad.get_job("x")
    assert "wrong-token" not in str(info.value)
    api, _, _ = _api(sandbox)
    with pytest.raises(ck.NotFoundError, match="404"):
        api.get_job("00000000-0000-4000-8000-000000000000")
    with pytest.raises(ck.ValidationError) as invalid:
        api.submit_click_export(DAY, program_ids=["abc"])
    assert invalid.value.errors and invalid.value.errors[0]["Field"] == "ProgramId"
    assert "ProgramId" in str(invalid.value)


def test_transient_5xx_and_drops_are_retried(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_faults(error_rate={"Job": 0.5}, drop_rate={"Job": 0.3})
    api, calls, sleeps = _api(sandbox, max_retries=12)
    sub = api.submit_click_export(DAY)
    for _ in range(5):
        assert api.get_job(sub.job_id).id == sub.job_id
    failed = [c for c in calls if c.endpoint == "Job" and c.status != 200]
    assert failed and len(sleeps) == len(failed)
    assert all(0 <= s <= 8 for s in sleeps)


def test_persistent_server_errors_raise_after_bounded_retries(sandbox: Sandbox) -> None:
    sandbox.set_faults(error_rate={"Job": 1.0})
    api, calls, sleeps = _api(sandbox, max_retries=3)
    with pytest.raises(ck.ClickkitError):
        api.get_job("anything")
    assert len([c for c in calls if c.endpoint == "Job"]) == 4 and len(sleeps) == 3


def test_short_429_is_slept_long_one_raises(sandbox: Sandbox) -> None:
    sandbox.set_faults(hourly_429=True)
    api, _, sleeps = _api(sandbox, max_sleep=10_000, max_retries=2)
    with pytest.raises(ck.RateLimited):
        api.get_job("x")
    assert sleeps and all(s > 0 for s in sleeps)  # slept as the server asked, then gave up
    api2, _, sleeps2 = _api(sandbox, max_sleep=1)
    with pytest.raises(ck.RateLimited) as info:
        api2.get_job("x")
    assert sleeps2 == [] and info.value.retry_after > 1


def test_storage_never_receives_authorization(sandbox: Sandbox, tmp_path: Path) -> None:
    import requests

    api, _, _ = _api(sandbox)
    sub = api.submit_click_export(DAY)
    redirect = requests.get(
        sandbox.url + sub.result_uri, auth=(sandbox.account_sid, sandbox.auth_token),
        allow_redirects=False, timeout=5,
    )  # fmt: skip
    location = redirect.headers["Location"]
    refused = requests.get(location, auth=(sandbox.account_sid, sandbox.auth_token), timeout=5)
    assert refused.status_code == 400  # what cloud storage does with a second auth method
    assert isinstance(api.download(sub.job_id, tmp_path / "ok.csv"), Downloaded)


def test_truncated_download_is_detected_and_leaves_no_file(sandbox: Sandbox, tmp_path) -> None:
    api, _, _ = _api(sandbox)
    sub = api.submit_click_export(DAY)
    sandbox.set_faults(truncate_downloads=True)
    with pytest.raises(ck.DownloadError, match="cut short"):
        api.download(sub.job_id, tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_download_without_dest_is_kept_in_memory_with_the_same_checks(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    api, _, _ = _api(sandbox)
    sub = api.submit_click_export(DAY)
    on_disk = api.download(sub.job_id, tmp_path / "a.csv")
    in_memory = api.download(sub.job_id)
    assert isinstance(on_disk, Downloaded) and isinstance(in_memory, Downloaded)
    assert in_memory.path is None and in_memory.content_encoding == "gzip"
    assert in_memory.read() == on_disk.read() == (tmp_path / "a.csv").read_bytes()
    assert (in_memory.size, in_memory.checksum) == (on_disk.size, on_disk.checksum)
    assert "in memory" in repr(in_memory) and "Id," not in repr(in_memory)
    assert list(tmp_path.iterdir()) == [tmp_path / "a.csv"]
    sandbox.set_faults(truncate_downloads=True)
    with pytest.raises(ck.DownloadError, match="cut short"):
        api.download(sub.job_id)


def test_expired_signed_url_is_a_download_error(sandbox: Sandbox, tmp_path: Path) -> None:
    api, _, _ = _api(sandbox)
    sub = api.submit_click_export(DAY)
    sandbox.set_faults(expire_signed_urls=True)
    with pytest.raises(ck.DownloadError, match="403"):
        api.download(sub.job_id, tmp_path / "e.csv")


def test_job_fields_as_strings_are_parsed(tmp_path: Path) -> None:
    with Sandbox(now=NOW, string_fields=True, job_duration=dt.timedelta(0)) as sb:
        api, _, _ = _api(sb)
        job = api.get_job(api.submit_click_export(DAY).job_id)
        assert job.raw["PercentageComplete"] == "100" and job.percent == 100
        assert job.replayable is True and isinstance(job.records_processed, int)


def test_headers_identify_the_client(sandbox: Sandbox) -> None:
    api, _, _ = _api(sandbox)
    sent: list[dict[str, str]] = []
    with api.response_hook(lambda response, **kw: sent.append(dict(response.request.headers))):
        api.list_jobs()
    api.list_jobs()  # the hook is gone again
    assert len(sent) == 1
    assert sent[0]["IR-Version"] == "16" and sent[0]["User-Agent"].startswith("clickkit/")
    assert sandbox.auth_token not in repr(api)


def test_job_parsing_tolerates_variants() -> None:
    job = Job.from_api(
        {"Id": "j", "Status": "completed", "Replayable": "false", "CompletedDate": ""}
    )
    assert job.status == "COMPLETED" and job.done and job.replayable is False
    assert job.completed is None


def test_retry_after_reads_every_header_variant() -> None:
    assert retry_after_seconds({"RateLimit-Reset": "12"}) == 12
    assert retry_after_seconds({"X-RateLimit-Reset": "1000000100"}, now=1_000_000_000) == 100
    assert retry_after_seconds({}) is None


@pytest.fixture
def html_host() -> Iterator[str]:
    """A host that answers every download with an HTML error page (a proxy's, say)."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    def app(environ, start_response):
        kind = "text/html" if "html" in environ["PATH_INFO"] else "text/csv"
        page = Response("<!DOCTYPE html><html><body>Gateway error</body></html>", content_type=kind)
        return page(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_html_instead_of_a_file_is_refused(html_host: str, tmp_path: Path) -> None:
    api = ImpactApi("IRx", "tok", base_url=html_host)
    with pytest.raises(ck.DownloadError, match="HTML page"):
        api.download("html-job", tmp_path / "a.csv", stream=True)
    assert not (tmp_path / "a.csv").exists()
    # Mislabelled as CSV, it is downloaded but refused by the parser, naming the problem.
    saved = api.download("csv-job", tmp_path / "b.csv", stream=True)
    with pytest.raises(ck.ParseError, match="HTML page"):
        ck.schema.parse_export(saved.path)
