"""clickkit doctor: free checks spend no export; --spend-one spends exactly one; redaction."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from clickkit.api import Downloaded, ImpactApi
from clickkit.doctor import DoctorReport, analyse_csv, redact, run_doctor
from clickkit.sandbox import Sandbox

PROFILES = (None, "documented", "pessimistic")
ZONE = "America/New_York"
#: Sandbox options a CSV export lets the doctor observe (page_size applies to JSON/XML).
OBSERVABLE = (
    "csv_true",
    "csv_false",
    "event_date_style",
    "money_style",
    "csv_bom",
    "line_ending",
    "extra_columns",
    "missing_columns",
    "compress_storage",
    "string_fields",
    "timezone",
)


def _sandbox(profile: str | None, **options: object) -> Sandbox:
    options.setdefault("timezone", ZONE)
    return Sandbox(profile=profile, seed=3, clicks_per_day=300, job_duration=0.2, **options)


def _api(sb: Sandbox) -> ImpactApi:
    return ImpactApi(sb.account_sid, sb.auth_token, base_url=sb.url)


def _day(sb: Sandbox, back: int = 2) -> dt.date:
    return sb.now().astimezone(ZoneInfo(sb.timezone)).date() - dt.timedelta(days=back)


def _exports(sb: Sandbox) -> int:
    return sb.stats()["requests"]["ClickExport"]


def _doctor(api: ImpactApi, tmp_path: Path, **kw: object) -> DoctorReport:
    kw.setdefault("timezone", "UTC")
    return run_doctor(api, workdir=tmp_path / "work", poll_initial=0.05, poll_max=0.2, **kw)


@pytest.fixture(params=PROFILES, ids=lambda p: p or "default")
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with _sandbox(request.param) as sb:
        yield sb


@pytest.mark.parametrize("string_fields", [True, False])
@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p or "default")
def test_free_checks_spend_no_export(
    profile: str | None, string_fields: bool, tmp_path: Path
) -> None:
    with _sandbox(profile, string_fields=string_fields) as sb, closing(_api(sb)) as api:
        api.submit_click_export(_day(sb, 5))  # an existing job, made before the doctor runs
        sb.reset_stats()
        report = _doctor(api, tmp_path)
        assert _exports(sb) == 0
    assert report.ok and report.spend is None
    assert report.connection["ir_version_accepted"] is True
    assert report.jobs_list["shape"] == "object" and report.jobs_list["key"] == "Jobs"
    assert report.job_fields["string_fields"] is string_fields
    assert report.sandbox_settings["string_fields"] is string_fields
    assert report.rate_limit["hourly"] and report.rate_limit["reset"]
    assert report.click_exports["count"] == 1
    # The sandbox account is in New York; the client setting says UTC.
    assert report.timezone["matches"] is False
    assert report.timezone["candidates"][0] == ZONE
    assert report.sandbox_settings["timezone"] == ZONE
    assert "set timezone to 'America/New_York'" in report.timezone["advice"]
    assert any("CLICKKIT_TIMEZONE" in note for note in report.notes)


def test_matching_time_zone_and_empty_account(tmp_path: Path) -> None:
    with _sandbox(None) as sb, closing(_api(sb)) as api:
        empty = _doctor(api, tmp_path, timezone=ZONE)
        assert empty.timezone["matches"] is None and empty.click_exports["count"] == 0
        api.submit_click_export(_day(sb, 5))
        report = _doctor(api, tmp_path, timezone=ZONE)
    assert report.timezone["matches"] is True
    assert not any("timezone" in note for note in report.notes)


def test_spend_one_spends_exactly_one_and_matches_the_sandbox(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    asked: list[str] = []
    submitted: list[str] = []
    with closing(_api(sandbox)) as api:
        report = _doctor(
            api,
            tmp_path,
            spend_one=_day(sandbox),
            confirm=lambda message: asked.append(message) or True,
            on_submit=submitted.append,
        )
    assert _exports(sandbox) == 1
    assert len(asked) == 1 and "spends one of the 10" in asked[0]
    spend = report.spend
    assert spend is not None and spend["spent"] is True and spend["confirmed"] is True
    assert submitted == [report.spent_job_id]
    assert report.spent_job_id in {job["id"] for job in sandbox.jobs()}
    assert spend["job"]["status"] == "COMPLETED"
    assert spend["job"]["run_seconds"] is not None
    assert "X-RateLimit-Remaining-day" in spend["rate_limit_headers"]
    assert spend["download"]["content_length"] is True
    assert spend["download"]["redirected"] is True
    settings = sandbox.settings
    for name in OBSERVABLE:
        assert report.sandbox_settings[name] == getattr(settings, name), name
    assert "page_size" not in report.sandbox_settings  # CSV is never paged
    assert "clickkit sandbox serve" in report.sandbox_command
    assert not list((tmp_path / "work").iterdir())  # no click rows left behind
    text = str(report)
    assert "one export" in text and "sandbox settings" in text
    assert "<li>" in report._repr_html_()


def test_refused_confirmation_spends_nothing(tmp_path: Path) -> None:
    with _sandbox("pessimistic") as sb, closing(_api(sb)) as api:
        report = _doctor(api, tmp_path, spend_one=_day(sb), confirm=lambda message: False)
        assert _exports(sb) == 0
    assert report.spend is not None and report.spend["spent"] is False
    assert report.spent_job_id is None


def test_no_quota_left_spends_nothing(tmp_path: Path) -> None:
    with _sandbox(None) as sb, closing(_api(sb)) as api:
        report = _doctor(api, tmp_path, spend_one=_day(sb), quota_left=0)
        assert _exports(sb) == 0
    assert report.spend is not None and report.spend["spent"] is False


def test_a_day_not_begun_is_refused_before_any_call(tmp_path: Path) -> None:
    from clickkit.errors import InvalidRequestError

    with _sandbox(None) as sb, closing(_api(sb)) as api:
        with pytest.raises(InvalidRequestError, match="has not begun"):
            _doctor(api, tmp_path, spend_one=_day(sb, -2))
        assert sum(sb.stats()["requests"].values()) == 0


def test_bad_credentials_are_explained(tmp_path: Path) -> None:
    with _sandbox(None) as sb:
        with closing(ImpactApi(sb.account_sid, "wrong", base_url=sb.url)) as api:
            report = _doctor(api, tmp_path, spend_one=_day(sb))
        assert _exports(sb) == 0
    assert not report.ok and report.connection["status"] == 401
    assert "IMPACT_AUTH_TOKEN" in report.connection["message"]
    assert report.spend is None
    assert "FAILED" in str(report)


def test_report_file_is_redacted(tmp_path: Path) -> None:
    with _sandbox("pessimistic") as sb, closing(_api(sb)) as api:
        api.submit_click_export(_day(sb, 4))
        report = _doctor(api, tmp_path, spend_one=_day(sb))
        path = report.write(tmp_path / "doctor.json")
        result = api.download(report.spent_job_id or "", tmp_path / "clicks.csv")
        assert isinstance(result, Downloaded)
        token, sid, job_ids = sb.auth_token, sb.account_sid, [j["id"] for j in sb.jobs()]
    text = path.read_text()
    data = json.loads(text)
    assert data["spend"]["spent"] is True and data["sandbox_settings"]["csv_true"] == "Y"
    assert data["sandbox_settings"]["missing_columns"] == ["SubId3"]
    assert token not in text and sid not in text
    assert all(job_id not in text for job_id in job_ids)
    assert "127.0.0.1" not in text and "<ip>" in text
    rows = list(csv.DictReader(io.StringIO(result.path.read_text(encoding="utf-8-sig"))))
    ips = {row["IpAddress"] for row in rows if row["IpAddress"]}
    assert ips and not any(ip in text for ip in ips)
    # Nothing from rows beyond column names and spelling classes.
    assert not any(row["ProfileId"] in text for row in rows[:50] if row["ProfileId"])
    assert data["account"].startswith("sid:")
    assert data["spend"]["job"]["id"].startswith("job:")


def test_redact_masks_addresses_and_hashes_ids() -> None:
    out = redact(
        {
            "a": "from 203.0.113.7 and [2001:db8::1]:443 at 02:03:13",
            "b": ["job d8807a9f-a5ee-4e3f-ad2b-3dfd19d1915f"],
            "IRsecret": "IRsecret/Jobs",
        },
        {"IRsecret": "sid:x"},
    )
    assert out["a"] == "from <ip> and [<ip>]:443 at 02:03:13"
    assert "d8807a9f" not in out["b"][0] and out["b"][0].startswith("job job:")
    assert out["sid:x"] == "sid:x/Jobs"


def test_analyse_csv_classifies_spellings(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"Id,EventDate,CpcBid,Payout,UniqueClick,Extra\r\n"
        b'a,2026-11-05T13:06:24Z,"0.25","1.50",1,"x, ""y"""\r\n'
        b'b,2026-11-05T13:07:00Z,"0.30","",0,z\r\n'
    )
    found = analyse_csv(path)
    assert found["columns"] == ["Id", "EventDate", "CpcBid", "Payout", "UniqueClick", "Extra"]
    assert found["event_date_style"] == "Z" and found["money_style"] == "quoted"
    assert (found["csv_true"], found["csv_false"]) == ("1", "0")
    assert found["line_ending"] == "\r\n" and found["bom"] is False
    assert found["extra"] == ["Extra"] and "ProgramId" in found["missing"]
    assert found["rows_sampled"] == 2


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPACT_", "CLICKKIT_"))}
    return subprocess.run(
        [sys.executable, "-m", "clickkit", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        env=env,
    )


def test_cli_free_checks(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    done = _cli("--sandbox", "--profile", "pessimistic", "--json", "--report", str(report),
                "--cache-dir", str(tmp_path / "c"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["spend"] is None
    assert json.loads(report.read_text())["account"] == data["account"]
    assert "127.0.0.1" not in report.read_text()


def test_cli_spend_one(tmp_path: Path) -> None:
    day = (dt.datetime.now(ZoneInfo(ZONE)).date() - dt.timedelta(days=3)).isoformat()
    report = tmp_path / "r.json"
    common = ("--sandbox", "--profile", "pessimistic", "--report", str(report),
              "--cache-dir", str(tmp_path / "c"), "--spend-one", day)  # fmt: skip
    refused = _cli(*common, stdin="n\n")
    assert refused.returncode == 0, refused.stderr
    assert "spends one of the 10" in refused.stderr
    assert json.loads(report.read_text())["spend"]["spent"] is False
    done = _cli(*common, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["spend"]["spent"] is True
    assert data["sandbox_settings"]["event_date_style"] == "naive"
    assert data["sandbox_settings"]["compress_storage"] is True


def test_the_day_spent_by_the_doctor_is_never_exported_again(make_client) -> None:
    client = make_client(profile="pessimistic")
    report = client.doctor(spend_one="2026-11-17")
    assert report.ok and client.sandbox_server.stats()["requests"]["ClickExport"] == 1
    df = client.clicks("2026-11-17")
    assert client.sandbox_server.stats()["requests"]["ClickExport"] == 1  # resumed its job
    assert df.attrs["clickkit"]["days"][0]["source"] == "resume" and len(df) > 0
