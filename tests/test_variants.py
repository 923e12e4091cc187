"""clicks() against every plausible impact.com: each undocumented behaviour alone, then all
the hard ones together (the sandbox's "pessimistic" profile).

For every variant: the rows equal a run against the documented reading of the API, the
ClickExport calls equal the minimum (one per day), a provisional day is never called
final, and it is replayed into the complete day once it closes.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import NOW

import clickkit as ck
from clickkit.errors import ProvisionalDataWarning
from clickkit.sandbox import Sandbox

RANGE = ("2026-11-15", "2026-11-17")
DAYS = 3
COMMON = {"now": NOW, "seed": 1, "clicks_per_day": 300, "job_duration": dt.timedelta(0)}
CLIENT = {"progress": False, "poll_interval": 0.02, "poll_max": 0.2}

VARIANTS: dict[str, dict[str, Any]] = {
    "failed exports count": {"failed_exports_count": True},
    "replay lag": {"replay_lag": 2.0},
    "gzip storage": {"compress_storage": True},
    "plain storage": {"compress_storage": False},
    "UniqueClick TRUE/FALSE": {"csv_true": "TRUE", "csv_false": "FALSE"},
    "UniqueClick Y/N": {"csv_true": "Y", "csv_false": "N"},
    "UniqueClick 1/0": {"csv_true": "1", "csv_false": "0"},
    "EventDate Z": {"event_date_style": "Z"},
    "EventDate naive": {"event_date_style": "naive", "timezone": "America/New_York"},
    "EventDate offset": {"event_date_style": "offset", "timezone": "America/New_York"},
    "money quoted": {"money_style": "quoted"},
    "money dollar": {"money_style": "dollar"},
    "BOM": {"csv_bom": True},
    "LF": {"line_ending": "\n"},
    "extra columns": {"extra_columns": True},
    "missing columns": {"missing_columns": ("SubId3",)},
    "typed job fields": {"string_fields": False},
    "string job fields": {"string_fields": True},
    "JSON nested": {"result_format": "JSON", "json_flat": False},
    "JSON flat": {"result_format": "JSON", "json_flat": True},
    "JSON paged": {"result_format": "JSON", "page_size": 40},
    "XML paged": {"result_format": "XML", "page_size": 40},
    "auth before limits": {"auth_before_rate_limit": True},
    "kong 429 body": {"rate_limit_body": "kong"},
    "pessimistic CSV": {"profile": "pessimistic"},
    "pessimistic JSON": {"profile": "pessimistic", "result_format": "JSON"},
    "pessimistic XML": {"profile": "pessimistic", "result_format": "XML"},
}

_REFERENCES: dict[str, pd.DataFrame] = {}


def _client(cache_dir: Path, options: dict[str, Any]) -> ck.Client:
    options = dict(options)
    fmt = options.pop("result_format", "CSV")
    return ck.Client.sandbox(
        cache_dir=cache_dir, result_format=fmt, **CLIENT, **{**COMMON, **options}
    )


def _reference(timezone: str, tmp_path: Path) -> pd.DataFrame:
    """What the documented reading of the API gives for RANGE in that time zone."""
    if timezone not in _REFERENCES:
        with _client(tmp_path / f"ref-{timezone.replace('/', '-')}",
                     {"profile": "documented", "timezone": timezone}) as client:  # fmt: skip
            _REFERENCES[timezone] = client.clicks(*RANGE)
    return _REFERENCES[timezone]


def _comparable(df: pd.DataFrame, drop: set[str]) -> pd.DataFrame:
    from clickkit.schema import COLUMN_NAMES

    columns = [c for c in COLUMN_NAMES if c not in drop]
    return df[columns].sort_values(["event_date", "id"]).reset_index(drop=True)


@pytest.mark.parametrize("variant", list(VARIANTS.values()), ids=list(VARIANTS))
def test_clicks_are_exact_and_economical_under_each_variant(tmp_path, variant) -> None:
    with _client(tmp_path / "cache", variant) as client:
        df = client.clicks(*RANGE)
        assert client.sandbox_server.stats()["requests"]["ClickExport"] == DAYS
        info = df.attrs["clickkit"]
        assert all(d["final"] for d in info["days"])
        reference = _reference(client.settings.timezone, tmp_path)
        missing = {"sub_id3"} if "SubId3" in str(variant) or "profile" in variant else set()
        pd.testing.assert_frame_equal(_comparable(df, missing), _comparable(reference, missing))
        again = client.clicks(*RANGE)
        assert again.attrs["clickkit"]["api_calls"] == {}


@pytest.mark.parametrize(
    "variant",
    [VARIANTS["replay lag"], VARIANTS["pessimistic CSV"], VARIANTS["pessimistic JSON"]],
    ids=["replay lag", "pessimistic CSV", "pessimistic JSON"],
)
def test_a_provisional_day_is_never_called_final_and_is_replayed_once(tmp_path, variant):
    with _client(tmp_path / "cache", {**variant, "clicks_per_day": 1000}) as client:
        today = client.today()
        with pytest.warns(ProvisionalDataWarning):
            early = client.clicks(today)
        assert early.attrs["clickkit"]["days"][0]["final"] is False
        client.sandbox_server.advance(dt.timedelta(days=1, hours=4))
        with warnings.catch_warnings():
            warnings.simplefilter("error", ProvisionalDataWarning)
            late = client.clicks(today)
        assert late.attrs["clickkit"]["days"][0]["final"] is True
        stats = client.sandbox_server.stats()["requests"]
        assert (stats["ClickExport"], stats["Replay"]) == (1, 1)
        assert len(late) > len(early)
        with ck.Client.sandbox(
            cache_dir=tmp_path / "fresh", **CLIENT,
            **{**COMMON, "clicks_per_day": 1000, "timezone": client.settings.timezone,
               "now": client.now(), "profile": "documented"},
        ) as fresh:  # fmt: skip
            assert len(late) == len(fresh.clicks(today))


@pytest.mark.parametrize("answer", ["202", "200", "404", "409"])
def test_failed_jobs_are_replayed_however_download_answers(tmp_path, answer) -> None:
    options = {"failed_download": answer, "outcomes": {"2026-11-16": ["CANCELLED"]}}
    with _client(tmp_path / "cache", options) as client:
        df = client.clicks(*RANGE)
        stats = client.sandbox_server.stats()["requests"]
        assert (stats["ClickExport"], stats["Replay"]) == (DAYS, 1)
        reference = _reference(client.settings.timezone, tmp_path)
        pd.testing.assert_frame_equal(_comparable(df, set()), _comparable(reference, set()))


def test_a_filter_on_a_column_the_export_lacks_is_refused_not_empty(tmp_path) -> None:
    with _client(tmp_path / "cache", {"missing_columns": ("UniqueClick",)}) as client:
        with pytest.raises(ck.InvalidRequestError, match="scope='exact'"):
            client.clicks(*RANGE, unique=True)
        exact = client.clicks(*RANGE, unique=True, scope="exact")
        assert len(exact) > 0
        reference = _reference(client.settings.timezone, tmp_path)
        assert len(exact) == int(reference["unique_click"].sum())


def test_a_wrong_time_zone_setting_warns_and_marks_nothing_final(tmp_path) -> None:
    with Sandbox(**{**COMMON, "timezone": "America/New_York"}) as sb:
        client = ck.Client(
            sb.account_sid, sb.auth_token, base_url=sb.url, clock=sb.now,
            cache_dir=tmp_path / "c", timezone="UTC", **CLIENT,
        )  # fmt: skip
        with (
            pytest.warns(ck.TimezoneMismatchWarning, match="America/New_York|-05:00"),
            pytest.warns(ProvisionalDataWarning, match="2026-11-16"),  # never called final
        ):
            df = client.clicks("2026-11-16")
        assert df.attrs["clickkit"]["days"][0]["final"] is False
        client.close()
