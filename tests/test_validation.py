"""Every bad setting and argument is refused with a ClickkitError naming it and the fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import clickkit as ck
from clickkit import inputs
from clickkit.settings import check_client_options

TOKEN = "s3cr3t-T0ken~value"
SID = "IRtest123"


def _client(tmp_path: Path, env: dict[str, str] | None = None, **options: Any) -> ck.Client:
    return ck.Client(SID, TOKEN, cache_dir=tmp_path / "cache", env=env or {}, **options)


def _refused(tmp_path: Path, env: dict[str, str] | None = None, **options: Any) -> str:
    with pytest.raises(ck.ConfigurationError) as info:
        _client(tmp_path, env, **options)
    message = str(info.value)
    assert TOKEN not in message
    return message


# -- resolve(), through Client ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("api.impact.com", "has no scheme; use https://api.impact.com"),
        ("ftp://api.impact.com", "only http:// and https://"),
        ("https://", "has no host"),
        ("https://api.impact .com", "space, line break or control character"),
        ("https://api.impact.com\r\nX-Evil: 1", "space, line break or control character"),
        ("https://api.impact.com/?Date=2026-10-01", "query or fragment; "),
        ("https://api.impact.com#top", "use https://api.impact.com "),
        ("https://api.impact.com:99999", "invalid port"),
    ],
)
def test_bad_base_url_argument(tmp_path, url, expected) -> None:
    message = _refused(tmp_path, base_url=url)
    assert expected in message
    assert message.startswith("base_url=") and "CLICKKIT_BASE_URL" in message


def test_bad_base_url_from_the_environment_names_the_variable(tmp_path) -> None:
    message = _refused(tmp_path, {"CLICKKIT_BASE_URL": "api.impact.com"})
    assert message.startswith(
        "CLICKKIT_BASE_URL='api.impact.com' has no scheme; use https://api.impact.com"
    )


def test_base_url_with_credentials_is_refused_without_echoing_them(tmp_path) -> None:
    message = _refused(tmp_path, base_url="https://user:hunter2@api.impact.com")
    assert "user name or password" in message and "hunter2" not in message


def test_good_base_urls_are_kept_without_trailing_slash(tmp_path) -> None:
    client = _client(tmp_path, base_url="http://127.0.0.1:8080/")
    assert client.settings.base_url == "http://127.0.0.1:8080"
    client.close()
    client = _client(tmp_path, {"CLICKKIT_BASE_URL": "https://proxy.example/impact/"})
    assert client.settings.base_url == "https://proxy.example/impact"
    client.close()


@pytest.mark.parametrize("value", [3, 3.0, "3h"])
def test_settle_delay_must_be_a_timedelta(tmp_path, value) -> None:
    message = _refused(tmp_path, settle_delay=value)
    assert f"settle_delay={value!r} is not a datetime.timedelta" in message
    assert "timedelta(hours=3" in message and "CLICKKIT_SETTLE_HOURS" in message


def test_negative_or_endless_settle_delay_is_refused(tmp_path) -> None:
    assert "negative" in _refused(tmp_path, settle_delay=dt.timedelta(hours=-1))
    assert "ever be final" in _refused(tmp_path, settle_delay=dt.timedelta.max)


@pytest.mark.parametrize("hours", ["-1", "abc", "nan", "inf", "1e300"])
def test_settle_hours_from_the_environment(tmp_path, hours) -> None:
    message = _refused(tmp_path, {"CLICKKIT_SETTLE_HOURS": hours})
    assert message.startswith(f"CLICKKIT_SETTLE_HOURS={hours!r}")
    assert "hours" in message


def test_settle_hours_from_the_environment_is_a_number_of_hours(tmp_path) -> None:
    client = _client(tmp_path, {"CLICKKIT_SETTLE_HOURS": "1.5"})
    assert client.settings.settle_delay == dt.timedelta(hours=1.5)
    client.close()
    client = _client(tmp_path, {"CLICKKIT_SETTLE_HOURS": "0"})
    assert client.settings.settle_delay == dt.timedelta(0)
    client.close()


@pytest.mark.parametrize("name", ["daily_export_limit", "max_days"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "must be at least 1"), (-3, "must be at least 1"), (True, "not a whole number"),
     (2.5, "not a whole number"), (2.0, "not a whole number"), ("ten", "not a whole number")],
)  # fmt: skip
def test_counts_are_whole_numbers_of_at_least_one(tmp_path, name, value, expected) -> None:
    message = _refused(tmp_path, **{name: value})
    assert message.startswith(f"{name}={value!r} ") and expected in message
    assert f"CLICKKIT_{name.upper()}" in message


@pytest.mark.parametrize("name", ["daily_export_limit", "max_days"])
@pytest.mark.parametrize("text", ["0", "2.5", "-1", "many"])
def test_counts_from_the_environment(tmp_path, name, text) -> None:
    variable = f"CLICKKIT_{name.upper()}"
    message = _refused(tmp_path, {variable: text})
    assert message.startswith(f"{variable}={text!r} ")


def test_counts_accept_ints_and_digit_text(tmp_path) -> None:
    client = _client(tmp_path, {"CLICKKIT_MAX_DAYS": " 31 "}, daily_export_limit=np.int64(25))
    assert (client.settings.daily_export_limit, client.settings.max_days) == (25, 31)
    client.close()


@pytest.mark.parametrize("value", ["v16", "16.0", " ", "\uff11\uff16", "-16", -16, True])
def test_ir_version_is_digits(tmp_path, value) -> None:
    message = _refused(tmp_path, ir_version=value)
    assert message.startswith(f"ir_version={value!r} is not an API version number")
    assert "CLICKKIT_IR_VERSION" in message
    message = _refused(tmp_path, {"CLICKKIT_IR_VERSION": "16;v=2"})
    assert message.startswith("CLICKKIT_IR_VERSION='16;v=2'")


def test_ir_version_accepts_digits(tmp_path) -> None:
    client = _client(tmp_path, ir_version=15)
    assert client.settings.ir_version == "15"
    client.close()


def test_timezones_as_before(tmp_path) -> None:
    message = _refused(tmp_path, timezone="Mars/Olympus")
    assert "timezone='Mars/Olympus' is not a known time zone" in message
    message = _refused(tmp_path, {"CLICKKIT_QUOTA_TIMEZONE": "Nowhere/Town"})
    assert message.startswith("CLICKKIT_QUOTA_TIMEZONE='Nowhere/Town' is not a known time zone")
    assert "quota_timezone=" in message


# -- check_client_options() -------------------------------------------------------------

GOOD: dict[str, Any] = {
    "account_sid": SID,
    "auth_token": TOKEN,
    "poll_interval": 1.0,
    "poll_max": 30.0,
    "wait_timeout": None,
    "min_refresh_interval": dt.timedelta(hours=1),
    "max_failed_replays": 2,
    "postback_safety_interval": 300.0,
    "progress": True,
}


def _option_refused(**changes: Any) -> str:
    options = {**GOOD, **changes}
    with pytest.raises(ck.ConfigurationError) as info:
        check_client_options(**options)
    message = str(info.value)
    assert TOKEN not in message
    token = options["auth_token"]
    assert not (isinstance(token, str) and token and token in message)
    return message


def test_good_client_options_pass() -> None:
    check_client_options(**GOOD)
    check_client_options(**{**GOOD, "poll_max": float("inf"), "wait_timeout": float("inf")})
    check_client_options(
        **{**GOOD, "poll_interval": np.float64(0.02), "poll_max": 1, "wait_timeout": 0.5,
           "min_refresh_interval": dt.timedelta(0), "max_failed_replays": 0,
           "progress": np.bool_(False), "account_sid": "IR-abc_123"}
    )  # fmt: skip


@pytest.mark.parametrize("sid", ["", None, "IR 123", "IR123\n", "IRé", "IR/1"])
def test_account_sid(sid) -> None:
    message = _option_refused(account_sid=sid)
    assert "account_sid" in message and "IMPACT_ACCOUNT_SID" in message


def test_account_sid_message_names_the_character_not_the_value() -> None:
    pasted_token = "Ab~Secret.Token.Value"
    message = _option_refused(account_sid=pasted_token)
    assert pasted_token not in message and "'~'" in message and "position 3" in message


@pytest.mark.parametrize(
    "token",
    ["tøken-€", "token\n", "tok\ren", "tok\x00en", "tok\ten", "tok\x7fen", "\u2603"],
)
def test_auth_token_that_basic_auth_cannot_carry(token) -> None:
    message = _option_refused(auth_token=token)
    assert token not in message
    assert message.startswith(
        "the auth token contains a character HTTP Basic auth cannot carry (non-latin-1 or a "
        "line break); copy it again from impact.com"
    )


def test_empty_auth_token() -> None:
    assert "auth token is empty" in _option_refused(auth_token="")


@pytest.mark.parametrize("value", [0, 0.0, -1, float("nan"), float("inf"), True, "1", None])
def test_poll_interval(value) -> None:
    message = _option_refused(poll_interval=value)
    assert message.startswith(f"poll_interval={value!r} ")
    if value in (0, -1):
        assert "0 would poll a 2 s job about 1,000 times" in message


@pytest.mark.parametrize(
    ("poll_max", "expected"),
    [(0.5, "less than poll_interval"), (None, "number of seconds"),
     (float("nan"), "number of seconds"), (False, "number of seconds")],
)  # fmt: skip
def test_poll_max(poll_max, expected) -> None:
    assert expected in _option_refused(poll_max=poll_max)


@pytest.mark.parametrize("value", [0, -5, float("nan"), "10", True])
def test_wait_timeout(value) -> None:
    message = _option_refused(wait_timeout=value)
    assert message.startswith(f"wait_timeout={value!r} ") and "None" in message


@pytest.mark.parametrize("value", [3600, "1h", None, dt.timedelta(seconds=-1)])
def test_min_refresh_interval(value) -> None:
    assert "timedelta" in _option_refused(min_refresh_interval=value)


@pytest.mark.parametrize("value", [-1, 2.0, True, "2", None])
def test_max_failed_replays(value) -> None:
    message = _option_refused(max_failed_replays=value)
    assert message.startswith(f"max_failed_replays={value!r} ") and ">= 0" in message


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "3", None])
def test_max_replays_per_day(value) -> None:
    message = _option_refused(max_replays_per_day=value)
    assert message.startswith(f"max_replays_per_day={value!r} ") and "at least 1" in message


@pytest.mark.parametrize("value", [0, -1, float("nan"), True, None])
def test_postback_safety_interval(value) -> None:
    message = _option_refused(postback_safety_interval=value)
    assert message.startswith(f"postback_safety_interval={value!r} ")


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_progress(value) -> None:
    assert "True or False" in _option_refused(progress=value)


# -- inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [pd.NaT, None, float("nan"), np.datetime64("NaT")])
def test_missing_dates_are_refused(value) -> None:
    with pytest.raises(ck.InvalidRequestError, match=r"start=(NaT|None|nan) is not a date"):
        inputs.parse_date(value, "start")


@pytest.mark.parametrize(
    "value",
    [True, 20261001, "2026-02-30", np.datetime64("12000-01-01"), pd.DatetimeIndex(["2026-10-01"])],
)
def test_non_dates_are_refused(value) -> None:
    with pytest.raises(ck.InvalidRequestError, match=r"end=.* is not a date; pass 'YYYY-MM-DD'"):
        inputs.parse_date(value, "end")


def test_dates_of_every_kind() -> None:
    day = dt.date(2026, 10, 1)
    minus7 = dt.timezone(dt.timedelta(hours=-7))
    assert inputs.parse_date(np.datetime64("2026-10-01")) == day
    assert inputs.parse_date(np.datetime64("2026-10-01T23:59:59.999")) == day
    # A tz-aware datetime keeps the calendar date written in its own zone.
    assert inputs.parse_date(dt.datetime(2026, 10, 1, 23, tzinfo=minus7)) == day
    assert inputs.parse_date(pd.Timestamp("2026-10-01T23:00-07:00")) == day
    assert inputs.parse_date(" 2026-10-01 ") == day


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2**70, "is too large"), (10**16, "is too large"), ("1" * 5000, "is too large"),
     (0, "is not a positive id"), (-4, "is not a positive id"), ("0", "is not a positive id"),
     (12.0, "is a float"), (np.float64(12), "is a float"), (True, "not a numeric id"),
     ("abc", "not a numeric id"), ("+5", "not a numeric id"), ("1_000", "not a numeric id"),
     (None, "not a numeric id"), (b"12", "not a numeric id")],
)  # fmt: skip
def test_bad_ids(value, expected) -> None:
    with pytest.raises(ck.InvalidRequestError, match=expected) as info:
        inputs.parse_ids([value], "program_id")
    assert str(info.value).startswith("program_id=") and "16 digits" in str(info.value)


def test_good_ids() -> None:
    assert inputs.parse_ids([" 12 ", np.int64(7), 10**16 - 1, 12], "ad_id") == (7, 12, 10**16 - 1)
    assert inputs.parse_ids(np.array([3, 1]), "ad_id") == (1, 3)
    assert inputs.parse_ids(None, "ad_id") == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a\nb", "line break or control"), ("a\rb", "line break or control"),
     ("a\x00b", "line break or control"), ("a\u2028b", "line break or control"),
     ("x" * 256, "256 characters"), ("", "non-empty"), ("   ", "non-empty"),
     (True, "not text"), (1.5, "not text"), (b"spring", "not text"), (None, "not text")],
)  # fmt: skip
def test_bad_sub_ids(value, expected) -> None:
    with pytest.raises(ck.InvalidRequestError, match=expected):
        inputs.parse_sub_ids([value])


def test_good_sub_ids() -> None:
    assert inputs.parse_sub_ids([" spring ", "x" * 255, 42]) == ("42", "spring", "x" * 255)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [(("2026-11-17",), {"program_id": 2**70}, "too large"),
     ((pd.NaT,), {}, "start=NaT is not a date"),
     (("2026-11-17", np.datetime64("NaT")), {}, "end=NaT is not a date"),
     (("2026-11-17",), {"ad_id": 12.0}, "is a float"),
     (("2026-11-17",), {"sub_id": "spr\ring"}, "line break"),
     (("2026-11-17",), {"sub_id": "a\nb"}, "line break")],
)  # fmt: skip
def test_clicks_refuses_before_any_api_call(make_client, args, kwargs, match) -> None:
    client = make_client()
    with pytest.raises(ck.InvalidRequestError, match=match):
        client.clicks(*args, **kwargs)
    assert sum(client.sandbox_server.stats()["requests"].values()) == 0


def test_clicks_accepts_numpy_dates(make_client) -> None:
    client = make_client()
    plan = client.plan(np.datetime64("2026-11-16"), np.datetime64("2026-11-17"))
    assert plan.exports == 2
