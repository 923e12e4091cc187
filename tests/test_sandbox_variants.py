"""Every open behaviour of impact.com as a sandbox setting, over real loopback HTTP."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sandbox_http import SandboxHttp as Api

from clickkit.sandbox import (
    BRAND_COLUMNS,
    COLUMNS,
    PROFILES,
    Sandbox,
    filter_clicks,
    generate_day,
)
from clickkit.sandbox.cli import _options, build_parser

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)  # a Friday, on the hour
TODAY = "2026-11-27"
YESTERDAY = "2026-11-26"


@pytest.fixture
def make(make_sandbox: Callable[..., Sandbox]) -> Callable[..., Sandbox]:
    return make_sandbox


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def full_day(**options: Any) -> Any:
    return generate_day(date(2026, 11, 26), seed=7, clicks_per_day=300, **options)


# -- failed_exports_count and lose_export_answer -------------------------------------------


def test_an_injected_5xx_spends_an_export(make: Callable[..., Sandbox]) -> None:
    sb = make(daily_export_limit=2, faults={"error_rate": {"ClickExport": 1.0}})
    api = Api(sb)
    failed = [api.export(), api.export()]
    assert {r.status_code for r in failed} <= {500, 502, 503}
    assert [r.headers["X-RateLimit-Remaining-day"] for r in failed] == ["1", "0"]
    refused = api.export()
    assert refused.status_code == 429  # the quota is checked before the fault fires
    sb.set_faults(error_rate={})
    assert api.export().status_code == 429 and sb.jobs() == []


def test_failed_exports_can_be_free(make: Callable[..., Sandbox]) -> None:
    sb = make(daily_export_limit=2, failed_exports_count=False)
    api = Api(sb)
    sb.set_faults(error_rate={"ClickExport": 1.0})
    assert all(api.export().status_code >= 500 for _ in range(3))
    sb.set_faults(error_rate={})
    assert api.export("bad").status_code == 400
    assert api.export().headers["X-RateLimit-Remaining-day"] == "1"


def test_a_400_and_a_dropped_connection_spend_an_export(make: Callable[..., Sandbox]) -> None:
    sb = make()
    api = Api(sb)
    invalid = api.export("2026-13-01")
    assert invalid.status_code == 400 and invalid.headers["X-RateLimit-Remaining-day"] == "9"
    sb.set_faults(drop_rate={"ClickExport": 1.0})
    with pytest.raises(requests.ConnectionError):
        api.export()
    sb.set_faults(drop_rate={})
    assert api.day_remaining() == "7" and len(sb.jobs()) == 1


def test_refusals_before_the_gateway_spend_nothing(make: Callable[..., Sandbox]) -> None:
    sb = make(hourly_limit=3)
    api = Api(sb)
    assert Api(sb, auth=(sb.account_sid, "wrong")).export().status_code == 401
    assert api.get("/Mediapartners/IRother/ClickExport").status_code == 403
    sb.set_faults(hourly_429=True)
    assert api.export().status_code == 429
    sb.set_faults(hourly_429=False)
    assert api.day_remaining() == "9"
    full = make(daily_export_limit=1)
    api = Api(full)
    api.submit()
    assert [api.export("2026-11-20").status_code for _ in range(3)] == [429] * 3
    full.advance(timedelta(days=1))
    assert api.export("2026-11-20").headers["X-RateLimit-Remaining-day"] == "0"


def test_free_duplicates_still_pass_a_spent_quota(make: Callable[..., Sandbox]) -> None:
    api = Api(make(duplicates_count=False, daily_export_limit=1))
    uri = api.submit()
    assert api.submit() == uri
    assert api.export("2026-11-25").status_code == 429


@pytest.mark.parametrize("counted", [True, False])
def test_a_lost_export_answer_leaves_a_job_and_spends(
    make: Callable[..., Sandbox], counted: bool
) -> None:
    sb = make(failed_exports_count=counted, faults={"lose_export_answer": True})
    api = Api(sb)
    with pytest.raises(requests.ConnectionError):
        api.export()
    [job] = sb.jobs()
    assert job["params"]["Date"] == YESTERDAY and job["status"] == "QUEUED"
    sb.set_faults(lose_export_answer=False)
    again = api.export()  # the duplicate finds the job the client never heard of
    assert again.json()["QueuedUri"].endswith(job["id"])
    assert again.headers["X-RateLimit-Remaining-day"] == "8"


# -- replay_lag --------------------------------------------------------------------------


def test_replay_lag_keeps_the_previous_run_then_queues(make: Callable[..., Sandbox]) -> None:
    sb = make(replay_lag=5, clicks_per_day=2000)
    api = Api(sb)
    uri = api.submit(TODAY)  # 09:00: most of today's clicks are still to come
    sb.advance(timedelta(seconds=10))
    first = api.job(uri)
    old_file = api.stored(uri).content
    assert first["Status"] == "COMPLETED" and first["CompletedDate"] == "2026-11-27T09:00:10+00:00"
    sb.advance(timedelta(hours=1))

    replayed = api.replay(uri)
    assert replayed.status_code == 200
    during = replayed.json()
    assert during["Status"] == "COMPLETED"
    for field in ("StartedDate", "CompletedDate", "RecordsProcessed"):
        assert during[field] == first[field]
    assert api.job(uri) == during
    assert api.download(uri).headers["Location"].split("?")[0].endswith("/1.csv")
    assert api.stored(uri).content == old_file and api.stream(uri).content == old_file
    assert api.replay(uri).json() == during  # a second Replay does not stack a run
    assert len(sb.jobs()[0]["runs"]) == 2 and sb.jobs()[0]["runs"][1]["pending"]

    sb.advance(timedelta(seconds=5))
    queued = api.job(uri)
    assert queued["Status"] == "QUEUED" and queued["StartedDate"] == queued["CompletedDate"] == ""
    assert api.download(uri).status_code == 202
    sb.advance(timedelta(seconds=10))
    done = api.job(uri)
    assert done["CompletedDate"] == "2026-11-27T10:00:25+00:00"
    assert api.download(uri).headers["Location"].split("?")[0].endswith("/2.csv")
    new_rows = csv_rows(api.stored(uri).content)[1:]
    assert int(done["RecordsProcessed"]) == len(new_rows) > int(first["RecordsProcessed"])


def test_no_replay_lag_queues_at_once(make: Callable[..., Sandbox]) -> None:
    sb = make(replay_lag=0)
    api = Api(sb)
    uri = api.submit()
    sb.advance(timedelta(minutes=1))
    job = api.replay(uri).json()
    assert job["Status"] == "QUEUED" and job["CompletedDate"] == ""
    assert api.replay(uri).status_code == 403  # the new run is already queued


# -- failed_download -----------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["202", "200", "404", "409"])
def test_download_of_a_cancelled_job(make: Callable[..., Sandbox], answer: str) -> None:
    sb = make(failed_download=answer, job_duration=0, outcomes={YESTERDAY: ["CANCELLED"]})
    api = Api(sb)
    uri = api.submit()
    for response in (api.download(uri), api.stream(uri)):
        assert response.status_code == int(answer)
        body = response.json()
        if answer in ("202", "200"):
            assert body["Status"] == "CANCELLED" and body["Id"] == uri.rsplit("/", 1)[1]
            assert "Content-Disposition" not in response.headers
        else:
            assert body["Status"] == "ERROR" and "CANCELLED" in body["Message"]


def test_failed_download_is_validated() -> None:
    with pytest.raises(ValueError, match="failed_download"):
        Sandbox(failed_download="500", frozen=True)


# -- page_size -----------------------------------------------------------------------------


def test_json_results_are_paged(make: Callable[..., Sandbox]) -> None:
    sb = make(page_size=100, job_duration=0)
    api = Api(sb)
    uri = api.submit(ResultFormat="JSON")
    total = int(api.job(uri)["RecordsProcessed"])
    assert total == full_day().num_rows > 200
    first = api.stream(uri).json()
    pages = -(-total // 100)
    assert (first["@page"], first["@numpages"], first["@pagesize"], first["@total"]) == (
        "1",
        str(pages),
        "100",
        str(total),
    )
    streamed, stored = [], []
    for page in range(1, pages + 1):
        doc = api.stream(uri, Page=page).json()
        assert doc["@page"] == str(page) and doc["@total"] == str(total)
        streamed += doc["Clicks"]
        location = api.download(uri, Page=page).headers["Location"]
        assert location.split("?")[0].endswith(f"/1.p{page}.json")
        stored += requests.get(location, timeout=10).json()["Clicks"]
    assert len(streamed) == total and stored == streamed
    assert [c["Id"] for c in streamed] == full_day()["Id"].to_pylist()
    assert len(api.stream(uri, Page=pages).json()["Clicks"]) == total - 100 * (pages - 1)
    for beyond in (api.stream(uri, Page=pages + 1), api.download(uri, Page=pages + 1)):
        assert beyond.status_code == 404 and beyond.json()["Status"] == "ERROR"
    assert api.stream(uri, Page=0).json()["Errors"][0]["Field"] == "Page"


def test_xml_results_are_paged(make: Callable[..., Sandbox]) -> None:
    sb = make(page_size=120, job_duration=0)
    api = Api(sb)
    uri = api.submit(ResultFormat="XML")
    total = full_day().num_rows
    clicks = []
    page = 1
    while True:
        response = api.stored(uri, Page=page)
        element = ET.fromstring(response.content).find("Clicks")
        assert element is not None
        assert element.get("page") == str(page) and element.get("pagesize") == "120"
        assert element.get("total") == str(total)
        clicks += [c.findtext("Id") for c in element]
        if page == int(element.get("numpages", "0")):
            break
        page += 1
    assert len(clicks) == total and page == -(-total // 120)
    assert api.download(uri, Page=page + 1).status_code == 404


def test_csv_is_never_paged_and_paging_can_be_off(make: Callable[..., Sandbox]) -> None:
    sb = make(page_size=10, job_duration=0)
    api = Api(sb)
    uri = api.submit()
    assert len(csv_rows(api.stored(uri).content)) == full_day().num_rows + 1
    assert api.download(uri).headers["Location"].split("?")[0].endswith("/1.csv")
    assert api.download(uri, Page=2).status_code == 404
    unpaged = Api(make(page_size=None, job_duration=0))
    uri = unpaged.submit(ResultFormat="JSON")
    assert unpaged.download(uri).headers["Location"].split("?")[0].endswith("/1.json")
    doc = unpaged.stored(uri).json()
    assert doc["@numpages"] == "1" and len(doc["Clicks"]) == int(doc["@total"])
    assert doc["@pagesize"] == doc["@total"]


# -- compress_storage, empty and short downloads -------------------------------------------


def test_storage_serves_gzip_with_the_compressed_length(make: Callable[..., Sandbox]) -> None:
    sb = make(job_duration=0)
    api = Api(sb)
    uri = api.submit()
    location = api.download(uri).headers["Location"]
    raw = requests.get(location, stream=True, timeout=10)
    body = raw.raw.read(decode_content=False)
    assert raw.headers["Content-Encoding"] == "gzip"
    assert raw.headers["Content-Length"] == str(len(body))
    streamed = api.stream(uri)
    assert "Content-Encoding" not in streamed.headers  # Mode=Stream stays plain
    assert gzip.decompress(body) == streamed.content == requests.get(location, timeout=10).content
    assert len(body) < len(streamed.content)
    plain = Api(make(job_duration=0, compress_storage=False))
    stored = plain.stored(plain.submit())
    assert "Content-Encoding" not in stored.headers
    assert stored.headers["Content-Length"] == str(len(stored.content))


def test_truncation_cuts_the_compressed_body(make: Callable[..., Sandbox]) -> None:
    sb = make(job_duration=0, faults={"truncate_downloads": True})
    api = Api(sb)
    location = api.download(api.submit()).headers["Location"]
    raw = requests.get(location, stream=True, timeout=10)
    received = b""
    with pytest.raises(Exception):  # noqa: B017 - urllib3's ProtocolError, version-dependent
        for chunk in raw.raw.stream(4096, decode_content=False):
            received += chunk
    assert raw.headers["Content-Encoding"] == "gzip"
    assert 0 < len(received) <= int(raw.headers["Content-Length"]) // 2 + 1


def test_empty_downloads(make: Callable[..., Sandbox]) -> None:
    sb = make(job_duration=0, faults={"empty_downloads": True})
    api = Api(sb)
    uri = api.submit()
    for response in (api.stored(uri), api.stream(uri)):
        assert response.status_code == 200 and response.content == b""
        assert "Content-Length" not in response.headers


@pytest.mark.parametrize("compressed", [True, False])
def test_short_csv_downloads_end_after_a_whole_line(
    make: Callable[..., Sandbox], compressed: bool
) -> None:
    sb = make(job_duration=0, compress_storage=compressed, faults={"short_downloads": True})
    api = Api(sb)
    uri = api.submit()
    total = int(api.job(uri)["RecordsProcessed"])
    for response in (api.stored(uri), api.stream(uri)):
        assert response.status_code == 200 and "Content-Length" not in response.headers
        assert response.content.endswith(b"\r\n")
        rows = csv_rows(response.content)
        assert rows[0] == list(COLUMNS) and 0 < len(rows) - 1 < total
        assert all(len(row) == len(COLUMNS) for row in rows)
    sb.set_faults(short_downloads=False)
    assert len(csv_rows(api.stored(uri).content)) == total + 1


def test_short_json_and_xml_downloads_end_after_a_whole_record(
    make: Callable[..., Sandbox],
) -> None:
    sb = make(job_duration=0, page_size=100, faults={"short_downloads": True})
    api = Api(sb)
    json_uri, xml_uri = api.submit(ResultFormat="JSON"), api.submit(ResultFormat="XML")
    short = api.stored(json_uri, Page=2).content
    assert short.endswith(b"}")
    with pytest.raises(json.JSONDecodeError):
        json.loads(short)
    doc = json.loads(short + b"]}")
    assert doc["@page"] == "2" and 0 < len(doc["Clicks"]) < 100
    xml_short = api.stream(xml_uri).content
    assert xml_short.endswith(b"</Click>")
    clicks = ET.fromstring(xml_short + b"</Clicks></ImpactRadiusResponse>").find("Clicks")
    assert clicks is not None and 0 < len(clicks) < 100


# -- spellings, extra and missing columns ----------------------------------------------------


def test_csv_spellings(make: Callable[..., Sandbox]) -> None:
    sb = make(
        job_duration=0,
        timezone="America/New_York",
        csv_true="Y",
        csv_false="N",
        money_style="quoted",
        csv_bom=True,
        line_ending="\n",
        event_date_style="naive",
    )
    api = Api(sb)
    data = api.stored(api.submit()).content
    assert data.startswith(b"\xef\xbb\xbfId,") and b"\r" not in data
    rows = csv_rows(data)
    expected = full_day(timezone="America/New_York")
    assert {r[-1] for r in rows[1:]} == {"Y", "N"}
    dates = [r[COLUMNS.index("EventDate")] for r in rows[1:]]
    assert dates == [d[:19] for d in expected["EventDate"].to_pylist()]
    second_line = data.split(b"\n")[1].decode()
    payout = expected["Payout"][0].as_py()
    assert f',"{expected["CpcBid"][0].as_py()}","{payout}",' in second_line


@pytest.mark.parametrize("style", ["offset", "Z", "naive"])
def test_event_date_styles(make: Callable[..., Sandbox], style: str) -> None:
    sb = make(job_duration=0, timezone="America/New_York", event_date_style=style)
    api = Api(sb)
    first = api.stream(api.submit(ResultFormat="JSON")).json()["Clicks"][0]["EventDate"]
    generated = full_day(timezone="America/New_York")["EventDate"][0].as_py()
    moment = datetime.fromisoformat(generated)
    expected = {
        "offset": generated,
        "Z": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "naive": generated[:19],
    }[style]
    assert first == expected


def test_money_in_dollars_and_string_fields(make: Callable[..., Sandbox]) -> None:
    sb = make(job_duration=0, money_style="dollar")
    api = Api(sb)
    uri = api.submit(ResultFormat="JSON")
    clicks = api.stream(uri).json()["Clicks"]
    bids = {c["CpcBid"] for c in clicks}
    assert all(b == "" or (b.startswith("$") and float(b[1:]) >= 0) for b in bids)
    assert any(b.startswith("$") for b in bids)
    job = api.job(uri)
    assert job["RecordsProcessed"] == str(len(clicks)) and job["Replayable"] == "true"
    typed = Api(make(job_duration=0, string_fields=False))
    job = typed.job(typed.submit())
    assert job["RecordsProcessed"] > 0 and job["Replayable"] is True


def test_extra_columns(make: Callable[..., Sandbox]) -> None:
    sb = make(job_duration=0, extra_columns=True)
    api = Api(sb)
    rows = csv_rows(api.stored(api.submit()).content)
    header = rows[0]
    at = header.index("ProductSku") + 1
    assert header[at : at + 5] == list(BRAND_COLUMNS) and len(header) == len(COLUMNS) + 5
    channels = [r[header.index("Channel")] for r in rows[1:]]
    assert 0 < sum(c != "" for c in channels) < len(channels) / 2
    click = api.stream(api.submit(ResultFormat="JSON")).json()["Clicks"][0]
    assert set(BRAND_COLUMNS) <= set(click)
    xml_uri = api.submit(ResultFormat="XML")
    assert ET.fromstring(api.stream(xml_uri).content).find("Clicks/Click/AdGroup") is not None


def test_missing_columns_keep_the_filters_working(make: Callable[..., Sandbox]) -> None:
    sb = make(job_duration=0, missing_columns=("UniqueClick", "SubId3"))
    api = Api(sb)
    rows = csv_rows(api.stored(api.submit(UniqueClick="TRUE")).content)
    assert rows[0] == [c for c in COLUMNS if c not in ("UniqueClick", "SubId3")]
    assert len(rows) - 1 == filter_clicks(full_day(), unique_only=True).num_rows
    click = api.stream(api.submit(ResultFormat="JSON")).json()["Clicks"][0]
    assert "UniqueClick" not in click and list(click["PartnerRelated"][0]) == ["SubId1", "SubId2"]
    with pytest.raises(ValueError, match="missing_columns"):
        Sandbox(missing_columns=("Nope",), frozen=True)


# -- auth_before_rate_limit and rate_limit_body ------------------------------------------


def test_bad_credentials_do_not_spend_the_hourly_budget(make: Callable[..., Sandbox]) -> None:
    sb = make(hourly_limit=2)
    api, intruder = Api(sb), Api(sb, auth=("IRsandbox0001", "guess"))
    refused = [intruder.get("Jobs") for _ in range(5)]
    assert [r.status_code for r in refused] == [401] * 5
    assert {r.headers["X-RateLimit-Remaining-hour"] for r in refused} == {"2"}
    assert [api.get("Jobs").status_code for _ in range(3)] == [200, 200, 429]

    old_order = make(hourly_limit=2, auth_before_rate_limit=False)
    api, intruder = Api(old_order), Api(old_order, auth=("IRsandbox0001", "guess"))
    assert [intruder.get("Jobs").status_code for _ in range(3)] == [401, 401, 429]
    assert api.get("Jobs").status_code == 429


def test_kong_rate_limit_body(make: Callable[..., Sandbox]) -> None:
    sb = make(hourly_limit=1, rate_limit_body="kong")
    api = Api(sb)
    api.get("Jobs")
    for accept in ("application/json", "application/xml"):
        refused = api.get("Jobs", headers={"Accept": accept})
        assert refused.status_code == 429 and refused.json() == {
            "message": "API rate limit exceeded"
        }
        assert refused.headers["Content-Type"].startswith("application/json")
        assert refused.headers["Retry-After"] == "3600"
    daily = Api(make(daily_export_limit=1, rate_limit_body="kong"))
    daily.submit()
    quota = daily.export("2026-11-25")
    assert quota.status_code == 429 and quota.json() == {"message": "API rate limit exceeded"}
    assert quota.headers["X-RateLimit-Remaining-day"] == "0"
    impact = Api(make(hourly_limit=0))
    assert impact.get("Jobs").json()["Status"] == "ERROR"
    with pytest.raises(ValueError, match="rate_limit_body"):
        make(rate_limit_body="nginx")


# -- profiles and the command line -------------------------------------------------------


def test_pessimistic_profile_and_explicit_keywords(make: Callable[..., Sandbox]) -> None:
    sb = make(profile="pessimistic", job_duration=0)
    settings = sb.settings
    for name, value in PROFILES["pessimistic"].items():
        assert getattr(settings, name) == value, name
    assert settings.profile == "pessimistic" and sb.timezone == "America/New_York"
    api = Api(sb)
    stored = requests.get(api.download(api.submit()).headers["Location"], stream=True, timeout=10)
    assert stored.headers["Content-Encoding"] == "gzip"
    data = gzip.decompress(stored.raw.read(decode_content=False))
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" not in data
    header = csv_rows(data)[0]
    assert "AdCampaign" in header and "SubId3" not in header
    assert csv_rows(data)[1][-1] in ("Y", "N")

    mine = make(profile="pessimistic", page_size=7, timezone="UTC", replay_lag=0)
    assert (mine.settings.page_size, mine.timezone) == (7, "UTC")
    assert mine.settings.replay_lag == timedelta(0) and mine.settings.rate_limit_body == "kong"
    documented = make(profile="documented")
    assert documented.settings.replay_lag == timedelta(0)
    assert documented.settings.failed_download == "409"
    plain = make()
    assert plain.settings.page_size == 10_000 and plain.settings.string_fields is True
    assert plain.settings.failed_exports_count and plain.settings.compress_storage
    with pytest.raises(ValueError, match="profile"):
        make(profile="cheerful")


def test_serve_flags() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["serve", "--profile", "pessimistic", "--no-failed-exports-count", "--replay-lag", "2.5",
         "--failed-download", "404", "--page-size", "0", "--no-compress-storage",
         "--event-date-style", "Z", "--money-style", "quoted", "--csv-bom", "--line-ending",
         "lf", "--extra-columns", "--missing-columns", "UniqueClick,SubId3",
         "--no-string-fields", "--json-flat", "--no-auth-before-rate-limit",
         "--rate-limit-body", "kong", "--lose-export-answer", "0.5", "--empty-downloads",
         "0.25", "--short-downloads", "1"]
    )  # fmt: skip
    options = _options(args)
    expected = {
        "profile": "pessimistic",
        "failed_exports_count": False,
        "replay_lag": timedelta(seconds=2.5),
        "failed_download": "404",
        "page_size": None,
        "compress_storage": False,
        "event_date_style": "Z",
        "money_style": "quoted",
        "csv_bom": True,
        "line_ending": "\n",
        "extra_columns": True,
        "missing_columns": ("UniqueClick", "SubId3"),
        "string_fields": False,
        "json_flat": True,
        "auth_before_rate_limit": False,
        "rate_limit_body": "kong",
    }
    assert {k: options[k] for k in expected} == expected
    faults = options["faults"]
    assert (faults["lose_export_answer"], faults["empty_downloads"]) == (0.5, 0.25)
    assert faults["short_downloads"] == 1.0
    bare = _options(parser.parse_args(["serve"]))
    assert not set(expected) - {"profile"} & set(bare)  # left to the profile or default
    assert bare["profile"] is None
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--failed-download", "500"])


def test_serve_with_the_pessimistic_profile(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "clickkit.sandbox", "serve", "--json", "--profile",
         "pessimistic", "--now", "2026-11-27T09:00:00+00:00", "--job-seconds", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        base = f"{info['base_url']}/Mediapartners/{info['account_sid']}"
        auth = (info["account_sid"], info["auth_token"])
        export = requests.get(
            f"{base}/ClickExport.json", params={"Date": YESTERDAY}, auth=auth, timeout=10
        )
        assert export.status_code == 200
        job = requests.get(info["base_url"] + export.json()["QueuedUri"], auth=auth, timeout=10)
        assert job.text.count("-05:00") >= 2  # the profile's America/New_York
        data = requests.get(
            info["base_url"] + export.json()["ResultUri"],
            params={"Mode": "Stream"},
            auth=auth,
            timeout=10,
        ).content
        assert data.startswith(b"\xef\xbb\xbfId,") and b"\r\n" not in data
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert process.returncode == 0
