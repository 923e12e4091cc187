"""The sandbox's impact.com API over real loopback HTTP: jobs, quotas, downloads, replays."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sandbox_http import SandboxHttp as Api

from clickkit.sandbox import COLUMNS, Sandbox, filter_clicks, generate_day

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)  # a Friday, on the hour
YESTERDAY = "2026-11-26"
RATE_HEADERS = ("X-RateLimit-Limit-hour", "X-RateLimit-Remaining-hour", "RateLimit-Reset")


@pytest.fixture
def make(make_sandbox: Callable[..., Sandbox]) -> Callable[..., Sandbox]:
    return make_sandbox


@pytest.fixture
def sb(make: Callable[..., Sandbox]) -> Sandbox:
    return make()


@pytest.fixture
def api(sb: Sandbox) -> Api:
    return Api(sb)


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))[1:]


def test_export_queues_a_job_with_relative_uris(api: Api, sb: Sandbox) -> None:
    response = api.export()
    assert response.status_code == 200
    body = response.json()
    match = re.fullmatch(
        rf"/Mediapartners/{sb.account_sid}/Jobs/([0-9a-f-]{{36}})", body["QueuedUri"]
    )
    assert match and uuid.UUID(match[1]).version == 4
    assert body == {
        "Status": "QUEUED",
        "QueuedUri": body["QueuedUri"],
        "ResultUri": body["QueuedUri"] + "/Download",
        "ReplayUri": body["QueuedUri"] + "/Replay",
    }
    assert sb.jobs()[0]["params"]["Date"] == YESTERDAY


def test_identical_parameters_return_the_same_job_and_spend_quota(api: Api, sb: Sandbox) -> None:
    first = api.export(ProgramId=["2", "1"], SubId=["b", "a"], UniqueClick="true")
    again = api.export(ProgramId=["1", "2"], SubId=["a", "b"], UniqueClick="TRUE")
    assert first.json()["QueuedUri"] == again.json()["QueuedUri"]
    assert [r.headers["X-RateLimit-Remaining-day"] for r in (first, again)] == ["9", "8"]
    assert first.headers["X-RateLimit-Limit-day"] == "10"
    sb.advance(timedelta(seconds=11))
    assert (
        api.export(ProgramId=["1", "2"], SubId=["a", "b"], UniqueClick="TRUE").json()["Status"]
        == "COMPLETED"
    )  # a duplicate shows the existing job's status
    other = api.export(ProgramId=["1"]).json()["QueuedUri"]
    assert other != first.json()["QueuedUri"] and len(sb.jobs()) == 2


def test_duplicates_can_be_free(make: Callable[..., Sandbox]) -> None:
    api = Api(make(duplicates_count=False, daily_export_limit=1))
    uri = api.submit()
    assert api.submit() == uri  # still answered although the only export is spent
    assert api.export("2026-11-25").status_code == 429


def test_the_eleventh_export_of_a_day_is_refused(api: Api, sb: Sandbox) -> None:
    for day in range(1, 11):
        assert api.export(f"2026-11-{day:02d}").status_code == 200
    refused = api.export("2026-11-11")
    assert refused.status_code == 429
    assert refused.json()["Status"] == "ERROR" and "10" in refused.json()["Message"]
    assert refused.headers["Retry-After"] == str(15 * 3600)  # to midnight UTC
    assert refused.headers["X-RateLimit-Remaining-day"] == "0"
    assert all(h in refused.headers for h in RATE_HEADERS)
    assert len(sb.jobs()) == 10
    sb.advance(timedelta(hours=15))
    assert api.export("2026-11-11").status_code == 200


def test_quota_day_follows_quota_timezone(make: Callable[..., Sandbox]) -> None:
    api = Api(make(daily_export_limit=1, quota_timezone="America/New_York"))
    api.submit()
    refused = api.export("2026-11-25")
    assert refused.headers["Retry-After"] == str(20 * 3600)  # 04:00 EST -> midnight


def test_rate_limit_headers_on_every_response(api: Api, sb: Sandbox) -> None:
    uri = api.submit()
    answers = [
        api.get(uri),
        api.download(uri),
        api.export("2026-02-30"),
        api.get("Nope"),
        requests.get(api.base + "/Jobs", timeout=10),
        api.get("/Mediapartners/IRsomeoneelse/Jobs"),
    ]
    assert [r.status_code for r in answers] == [200, 202, 400, 404, 401, 403]
    remaining = [int(r.headers["X-RateLimit-Remaining-hour"]) for r in answers]
    assert remaining == [998, 997, 996, 995, 995, 995]  # 401/403 come before the limit
    assert all(r.headers["X-RateLimit-Limit-hour"] == "1000" for r in answers)
    assert all(r.headers["RateLimit-Reset"] == "3600" for r in answers)
    sb.advance(timedelta(seconds=11))
    assert api.download(uri).status_code == 302
    sb.advance(timedelta(minutes=30))
    assert api.get(uri).headers["RateLimit-Reset"] == str(3600 - 11 - 30 * 60)


def test_hourly_limit(make: Callable[..., Sandbox]) -> None:
    sb = make(hourly_limit=3)
    api = Api(sb)
    uri = api.submit()
    assert [api.get(uri).status_code for _ in range(3)] == [200, 200, 429]
    refused = api.get(uri)
    assert refused.headers["Retry-After"] == "3600"
    assert refused.headers["X-RateLimit-Remaining-hour"] == "0"
    assert refused.json()["Status"] == "ERROR"
    sb.advance(timedelta(hours=1))
    assert api.get(uri).status_code == 200


def test_job_moves_through_its_states_on_the_sandbox_clock(api: Api, sb: Sandbox) -> None:
    uri = api.submit()
    queued = api.job(uri)
    assert set(queued) == {
        "Id", "Type", "ProgramId", "CreatedBy", "CreatedDate", "StartedDate", "CompletedDate",
        "AbandonedDate", "CancelledDate", "FailedDate", "LastProgressUpdateDate", "Status",
        "StatusMessage", "RecordsProcessed", "PercentageComplete", "Replayable", "ResultUri",
    }  # fmt: skip
    assert (queued["Status"], queued["PercentageComplete"], queued["StartedDate"]) == (
        "QUEUED",
        "0",
        "",
    )  # numbers and booleans as strings by default (string_fields)
    assert queued["Type"] == "ClickExport" and queued["CreatedBy"] == sb.account_sid
    assert queued["CreatedDate"] == "2026-11-27T09:00:00+00:00" and queued["Replayable"] == "true"
    assert queued["ResultUri"] == uri + "/Download"
    sb.advance(timedelta(seconds=6))
    running = api.job(uri)
    assert running["Status"] == "RUNNING" and running["StartedDate"] == "2026-11-27T09:00:02+00:00"
    assert 0 < int(running["PercentageComplete"]) < 100 and int(running["RecordsProcessed"]) > 0
    sb.advance(timedelta(seconds=4))
    done = api.job(uri)
    assert (done["Status"], done["PercentageComplete"]) == ("COMPLETED", "100")
    assert done["CompletedDate"] == "2026-11-27T09:00:10+00:00"
    assert done["StatusMessage"] and done["FailedDate"] == done["CancelledDate"] == ""
    processed = int(done["RecordsProcessed"])
    assert processed == len(rows(api.fetch(uri))) > int(running["RecordsProcessed"])


def test_clock_flows_in_real_time_unless_frozen(make: Callable[..., Sandbox]) -> None:
    sb = make(frozen=False, job_duration=timedelta(seconds=0.3))
    api = Api(sb)
    before = sb.now()
    uri = api.submit()
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    while api.job(uri)["Status"] != "COMPLETED":
        assert datetime.now(UTC) < deadline
    assert sb.now() - before >= timedelta(seconds=0.3)
    sb.advance(timedelta(days=1))
    assert sb.now() - before > timedelta(days=1)
    with pytest.raises(ValueError):
        sb.advance(timedelta(seconds=-1))


def test_dates_and_default_day_follow_the_account_timezone(make: Callable[..., Sandbox]) -> None:
    sb = make(timezone="America/Los_Angeles", now=datetime(2026, 11, 27, 3, tzinfo=UTC))
    api = Api(sb)
    job = api.job(api.get("ClickExport").json()["QueuedUri"])  # no Date: today in LA
    assert sb.jobs()[0]["params"]["Date"] == "2026-11-26"
    assert job["CreatedDate"] == "2026-11-26T19:00:00-08:00"


def test_download_202_then_302_to_a_signed_storage_url(api: Api, sb: Sandbox) -> None:
    uri = api.submit()
    pending = api.download(uri)
    assert pending.status_code == 202 and pending.json()["Status"] == "QUEUED"
    sb.advance(timedelta(seconds=10))
    redirect = api.download(uri)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    job_id = uri.rsplit("/", 1)[1]
    assert location.startswith(f"{sb.storage_url}/results/{job_id}/1.csv?Expires=")
    assert re.search(r"&Signature=[0-9a-f]{64}$", location)
    stored = requests.get(location, timeout=10, stream=True)
    assert stored.status_code == 200
    assert stored.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert stored.headers["Content-Encoding"] == "gzip"  # compress_storage
    compressed = stored.raw.read(decode_content=False)
    assert stored.headers["Content-Length"] == str(len(compressed))
    stored._content = gzip.decompress(compressed)
    assert stored.headers["Content-Disposition"] == (
        f'attachment; filename="ClickExport_{YESTERDAY}_{job_id}.csv"'
    )
    assert stored.content.split(b"\r\n", 1)[0].decode() == ",".join(COLUMNS)
    assert (
        len(rows(stored.content))
        == generate_day(datetime(2026, 11, 26).date(), seed=7, clicks_per_day=300).num_rows
    )  # the day had settled: the full day
    assert sb.stats()["requests"]["Storage"] == 1
    followed = api.get(uri + "/Download")  # requests drops the auth on the port change
    assert followed.status_code == 200 and followed.content == stored.content


def test_stream_mode_answers_with_the_file(api: Api, sb: Sandbox) -> None:
    uri = api.submit(ResultFormat="JSON")
    sb.advance(timedelta(seconds=10))
    for mode in ("Stream", "stream"):
        streamed = api.download(uri, Mode=mode)
        assert streamed.status_code == 200
        assert streamed.headers["Content-Type"] == "application/json"
        assert streamed.headers["Content-Disposition"].endswith('.json"')
        assert streamed.content == api.fetch(uri)
        assert json.loads(streamed.content)["@total"] == str(api.job(uri)["RecordsProcessed"])


def test_storage_refuses_an_authorization_header(api: Api, sb: Sandbox) -> None:
    uri = api.submit()
    sb.advance(timedelta(seconds=10))
    location = api.download(uri).headers["Location"]
    refused = requests.get(location, auth=(sb.account_sid, sb.auth_token), timeout=10)
    assert refused.status_code == 400
    error = ET.fromstring(refused.content)
    assert error.tag == "Error" and error.findtext("Code") == "InvalidArgument"
    assert sb.auth_token not in refused.text
    assert (
        requests.get(location, headers={"Authorization": "Bearer x"}, timeout=10).status_code == 400
    )


def test_storage_checks_signature_and_expiry(api: Api, sb: Sandbox) -> None:
    uri = api.submit()
    sb.advance(timedelta(seconds=10))
    location = api.download(uri).headers["Location"]
    tampered = location[:-1] + ("0" if location[-1] != "0" else "1")
    bad = requests.get(tampered, timeout=10)
    assert bad.status_code == 403
    assert ET.fromstring(bad.content).findtext("Code") == "SignatureDoesNotMatch"
    later = re.sub(r"Expires=(\d+)", lambda m: f"Expires={int(m[1]) + 3600}", location)
    assert requests.get(later, timeout=10).status_code == 403
    unsigned = location.split("?")[0]
    assert requests.get(unsigned, timeout=10).status_code == 403
    sb.advance(timedelta(minutes=5, seconds=1))  # signed_url_ttl is 5 minutes
    expired = requests.get(location, timeout=10)
    assert expired.status_code == 403
    assert ET.fromstring(expired.content).findtext("Message") == "Request has expired"
    assert requests.get(api.download(uri).headers["Location"], timeout=10).status_code == 200


def test_results_past_retention_are_gone(make: Callable[..., Sandbox]) -> None:
    sb = make(retention=timedelta(days=1))
    api = Api(sb)
    uri = api.submit()
    sb.advance(timedelta(days=1))
    assert api.download(uri).status_code == 302
    sb.advance(timedelta(seconds=11))
    gone = api.download(uri)
    assert gone.status_code == 404 and gone.json()["Status"] == "ERROR"
    assert api.download(uri, Mode="Stream").status_code == 404
    forever = make(retention=None)
    api = Api(forever)
    uri = api.submit()
    forever.advance(timedelta(days=400))
    assert api.download(uri).status_code == 302


def test_replay_rules(make: Callable[..., Sandbox]) -> None:
    sb = make(replay_lag=0)  # the new run is queued at once
    api = Api(sb)
    uri = api.submit()
    refused = api.replay(uri)
    assert refused.status_code == 403 and refused.json()["Status"] == "ERROR"
    assert api.job(uri)["AbandonedDate"] == "2026-11-27T09:00:00+00:00"
    sb.advance(timedelta(seconds=6))
    assert api.replay(uri).status_code == 403  # RUNNING
    sb.advance(timedelta(hours=1))
    first = api.job(uri)
    replayed = api.replay(uri)
    assert replayed.status_code == 200
    job = replayed.json()
    assert job["Id"] == first["Id"] and job["Status"] == "QUEUED"
    assert job["CreatedDate"] == first["CreatedDate"]
    assert job["StartedDate"] == job["CompletedDate"] == ""
    assert api.download(uri).status_code == 202
    sb.advance(timedelta(seconds=10))
    assert api.job(uri)["CompletedDate"] == "2026-11-27T10:00:16+00:00"
    assert [r["number"] for r in sb.jobs()[0]["runs"]] == [1, 2]
    assert api.download(uri).headers["Location"].split("?")[0].endswith("/2.csv")
    post = api.session.post(sb.url + uri + "/Replay", params={"_method": "PUT"}, timeout=10)
    assert post.status_code == 200
    sb.advance(timedelta(seconds=10))
    form = api.session.post(sb.url + uri + "/Replay", data={"_method": "PUT"}, timeout=10)
    assert form.status_code == 200
    assert api.session.post(sb.url + uri + "/Replay", timeout=10).status_code == 405
    stats = sb.stats()
    assert stats["requests"]["Replay"] == 6 and stats["requests"]["ClickExport"] == 1
    assert api.replay(uri.replace(uri[-36:], str(uuid.uuid4()))).status_code == 404


def test_replays_can_spend_export_quota(make: Callable[..., Sandbox]) -> None:
    sb = make(replays_count=True, daily_export_limit=2, job_duration=0, replay_lag=0)
    api = Api(sb)
    uri = api.submit()
    assert api.replay(uri).status_code == 200
    assert api.replay(uri).status_code == 429


def test_a_replay_after_the_day_returns_late_clicks(make: Callable[..., Sandbox]) -> None:
    sb = make(clicks_per_day=2000, replay_lag=0)
    api = Api(sb)
    uri = api.submit("2026-11-27")  # today, 09:00 UTC: most of the day is still to come
    sb.advance(timedelta(seconds=10))
    morning = rows(api.fetch(uri))
    sb.advance(timedelta(hours=15))  # midnight: the day is over, late clicks still arriving
    api.replay(uri)
    sb.advance(timedelta(seconds=10))
    midnight = rows(api.fetch(uri))
    sb.advance(timedelta(hours=3))
    api.replay(uri)
    sb.advance(timedelta(seconds=10))
    settled = rows(api.fetch(uri))
    assert 0 < len(morning) < len(midnight) < len(settled)
    assert len(settled) == generate_day(NOW.date(), seed=7, clicks_per_day=2000).num_rows
    assert {tuple(r) for r in morning} <= {tuple(r) for r in settled}


def test_error_envelopes(api: Api, sb: Sandbox) -> None:
    anonymous = requests.get(api.base + "/ClickExport.json", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert anonymous.json()["Status"] == "ERROR" and anonymous.json()["Message"]
    wrong = requests.get(api.base + "/Jobs.json", auth=(sb.account_sid, "nope"), timeout=10)
    assert wrong.status_code == 401
    odd = requests.get(api.base + "/Jobs.json", auth=("Jürgen", "pässword"), timeout=10)
    assert odd.status_code == 401
    other = api.get("/Mediapartners/IRother/ClickExport", params={"Date": YESTERDAY})
    assert other.status_code == 403 and other.json()["Status"] == "ERROR"
    invalid = api.export(
        "2026-13-01", ResultFormat="XLS", ProgramId=["12", "abc"], UniqueClick="yes"
    )
    assert invalid.status_code == 400
    body = invalid.json()
    assert (body["Status"], body["Message"]) == ("ERROR", "Validation Failed")
    assert [e["Field"] for e in body["Errors"]] == [
        "Date",
        "ResultFormat",
        "ProgramId",
        "UniqueClick",
    ]
    assert api.export("26-11-2026").json()["Errors"][0]["Field"] == "Date"
    assert api.export(AdId="x1").json()["Errors"] == [
        {"Field": "AdId", "Message": "Not a numeric value"}
    ]
    missing = api.get("/Mediapartners/IRsandbox0001/Nothing")
    assert missing.status_code == 404 and missing.json()["Status"] == "ERROR"
    assert api.get(f"Jobs/{uuid.uuid4()}").status_code == 404
    assert api.session.delete(api.base + "/Jobs", timeout=10).status_code == 405
    # The three 400s spent a call each (failed_exports_count); the 401 and 403 did not.
    assert sb.jobs() == [] and api.export().headers["X-RateLimit-Remaining-day"] == "6"


def test_xml_by_default_json_on_request(sb: Sandbox) -> None:
    xml_api = Api(sb, json=False)
    answer = xml_api.export()
    assert answer.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(answer.content)
    assert root.tag == "ImpactRadiusResponse" and root.findtext("Status") == "QUEUED"
    uri = root.findtext("QueuedUri")
    assert uri and ET.fromstring(xml_api.get(uri).content).findtext("Type") == "ClickExport"
    listing = ET.fromstring(xml_api.get("Jobs").content)
    assert [j.findtext("Id") for j in listing.iter("Job")] == [uri.rsplit("/", 1)[1]]
    error = ET.fromstring(xml_api.export("bad").content)
    assert error.findtext("Errors/Error/Field") == "Date"
    as_json = xml_api.get(uri + ".json")
    assert as_json.headers["Content-Type"] == "application/json" and as_json.json()["Id"]
    assert xml_api.get("Jobs.json").json()["Jobs"][0]["Id"] == as_json.json()["Id"]


def test_string_fields(make: Callable[..., Sandbox]) -> None:
    sb = make(string_fields=True, job_duration=0)
    api = Api(sb)
    job = api.job(api.submit())
    assert job["Replayable"] == "true" and job["PercentageComplete"] == "100"
    assert job["RecordsProcessed"].isdigit() and int(job["RecordsProcessed"]) > 0


def test_jobs_list_and_its_date_filters(api: Api, sb: Sandbox) -> None:
    first = api.submit()
    sb.advance(timedelta(days=2))
    second = api.submit("2026-11-28")
    ids = lambda r: [j["Id"] for j in r.json()["Jobs"]]  # noqa: E731
    everything = api.get("Jobs")
    assert ids(everything) == [first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]]
    assert ids(api.get("Jobs", params={"CreatedAfter": "2026-11-28"})) == ids(everything)[1:]
    assert ids(api.get("Jobs", params={"CreatedBefore": "2026-11-28"})) == ids(everything)[:1]
    assert api.get("Jobs", params={"CreatedAfter": "yesterday"}).status_code == 400
    assert sb.stats()["requests"]["JobList"] == 4


def test_filters_and_formats_of_results(make: Callable[..., Sandbox]) -> None:
    sb = make(job_duration=0, csv_true="TRUE", csv_false="FALSE")
    api = Api(sb)
    full = generate_day(datetime(2026, 11, 26).date(), seed=7, clicks_per_day=300)
    program, ad = full["ProgramId"][0].as_py(), full["AdId"][0].as_py()
    sub = next(s for s in full["SubId1"].to_pylist() if s)
    expected = filter_clicks(full, program_ids=[program], sub_ids=[sub], unique_only=True)
    got = rows(api.fetch(api.submit(ProgramId=program, SubId=sub, UniqueClick="TRUE")))
    assert len(got) == expected.num_rows > 0
    assert all(r[1] == program and r[-1] == "TRUE" for r in got)
    by_ad = rows(api.fetch(api.submit(AdId=ad)))
    assert {r[COLUMNS.index("AdId")] for r in by_ad} == {ad}
    assert {r[-1] for r in rows(api.fetch(api.submit()))} == {"TRUE", "FALSE"}
    doc = json.loads(api.fetch(api.submit(ResultFormat="json")))
    assert doc["@total"] == str(full.num_rows) and "PartnerRelated" in doc["Clicks"][0]
    xml_uri = api.submit(ResultFormat="XML")
    response = requests.get(api.download(xml_uri).headers["Location"], timeout=10)
    assert response.headers["Content-Type"] == "application/xml"
    assert len(ET.fromstring(response.content).find("Clicks")) == full.num_rows


def test_stats_endpoint_and_reset(api: Api, sb: Sandbox) -> None:
    api.get(api.submit())
    stats = requests.get(sb.url + "/_sandbox/stats", timeout=10).json()
    assert stats["requests"] == {
        "ClickExport": 1, "Job": 1, "JobList": 0, "Download": 0, "Storage": 0, "Replay": 0
    }  # fmt: skip
    assert stats["status"] == {"200": 2}
    assert sb.stats()["status"] == {200: 2}  # the stats call itself is not counted
    sb.reset_stats()
    assert sum(sb.stats()["requests"].values()) == 0 and sb.stats()["status"] == {}
    assert len(sb.jobs()) == 1


def test_failed_outcome_goes_through_error_retries(make: Callable[..., Sandbox]) -> None:
    sb = make(outcomes={YESTERDAY: ["FAILED"]})
    api = Api(sb)
    uri = api.submit()
    sb.advance(timedelta(seconds=10))
    job = api.job(uri)
    assert job["Status"] == "ERROR" and job["FailedDate"] == "2026-11-27T09:00:10+00:00"
    assert api.download(uri).status_code == 202  # ERROR is not final
    assert api.replay(uri).status_code == 403
    seen = []
    for _ in range(5):
        sb.advance(timedelta(minutes=15, seconds=5))
        seen.append(api.job(uri)["Status"])
        sb.advance(timedelta(seconds=5))
        seen.append(api.job(uri)["Status"])
    assert seen == ["RUNNING", "ERROR"] * 4 + ["RUNNING", "FAILED"]
    failed = api.download(uri)  # failed_download="202": the Job, like an unfinished one
    assert failed.status_code == 202 and failed.json()["Status"] == "FAILED"
    assert api.replay(uri).status_code == 200  # runs beyond the list complete
    sb.advance(timedelta(seconds=11))  # replay_lag (1 s), then the run
    assert api.job(uri)["Status"] == "COMPLETED"
    assert [r["outcome"] for r in sb.jobs()[0]["runs"]] == ["FAILED", "COMPLETED"]


def test_error_then_completed_and_cancelled(sb: Sandbox, api: Api) -> None:
    sb.set_outcomes(YESTERDAY, ["ERROR_THEN_COMPLETED", "CANCELLED"])
    flaky, cancelled = api.submit(), api.submit(UniqueClick="TRUE")
    sb.advance(timedelta(seconds=10))
    assert [api.job(u)["Status"] for u in (flaky, cancelled)] == ["ERROR", "CANCELLED"]
    assert api.job(cancelled)["CancelledDate"] == "2026-11-27T09:00:10+00:00"
    assert api.download(cancelled).status_code == 202
    sb.advance(timedelta(minutes=15, seconds=10))
    done = api.job(flaky)
    assert done["Status"] == "COMPLETED" and done["FailedDate"] == "2026-11-27T09:00:10+00:00"
    assert api.download(flaky).status_code == 302
    with pytest.raises(ValueError, match="unknown outcome"):
        sb.set_outcomes(YESTERDAY, ["EXPLODED"])


def test_constructor_validates_options(make: Callable[..., Sandbox]) -> None:
    with pytest.raises(ValueError, match="IANA"):
        make(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="aware"):
        make(now=datetime(2026, 1, 1))
    sb = make(auth_token="secret", account_sid="IRmine")
    assert (sb.account_sid, sb.auth_token) == ("IRmine", "secret")
    assert "secret" not in repr(sb) and sb.url in repr(sb)
    assert make().auth_token != make().auth_token  # random per instance
