"""Tests of clickkit.widgets against a real sandbox over loopback HTTP, without a browser.

The widgets are driven the way a user drives them: set control values, press buttons
(``button.click()`` runs the same callbacks a browser click does), then read what the
``Output`` holds. The sandbox's request counters prove which actions cost API calls.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import clickkit as ck
from clickkit import widgets

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)  # a Friday noon, UTC
REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def requests(client: ck.Client) -> dict[str, int]:
    """Requests the sandbox has answered, by endpoint."""
    return dict(client.sandbox_server.stats()["requests"])


def exports(client: ck.Client) -> int:
    return requests(client).get("ClickExport", 0)


def pngs(explorer: widgets.Explorer) -> list[bytes]:
    """The PNG images the explorer's output shows."""
    return [
        base64.b64decode(o["data"]["image/png"])
        for o in explorer.output.outputs
        if "image/png" in o.get("data", {})
    ]


def html_of(explorer: widgets.Explorer) -> str:
    return "\n".join(o["data"].get("text/html", "") for o in explorer.output.outputs)


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    return width, height


@pytest.fixture
def client(make_client: Callable[..., ck.Client]) -> ck.Client:
    return make_client()


# ---------------------------------------------------------------------------------------
# Explorer: defaults and cost


@pytest.mark.parametrize(
    ("now", "end"),
    [
        # Noon: yesterday closed at 03:00 (midnight + the 3 h settle delay).
        (NOW, dt.date(2026, 11, 26)),
        # 02:00: yesterday is still settling, so the range ends the day before.
        (dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC), dt.date(2026, 11, 25)),
    ],
)
def test_default_range_is_the_last_seven_complete_days(
    make_client: Callable[..., ck.Client], now: dt.datetime, end: dt.date
) -> None:
    client = make_client(now=now)
    explorer = widgets.explorer(client)
    assert explorer.end_picker.value == end
    assert explorer.start_picker.value == end - dt.timedelta(days=6)
    assert widgets.last_complete_days(client, 3) == (end - dt.timedelta(days=2), end)
    assert explorer.output.outputs == ()  # nothing loaded, nothing shown
    assert exports(client) == 0


def test_cost_follows_every_change_of_dates_and_filters_without_api_calls(
    client: ck.Client,
) -> None:
    explorer = widgets.explorer(client)
    assert "7 days: 0 cached" in explorer.cost.value
    assert "<b>7</b> exports needed" in explorer.cost.value
    assert "exports left today: <b>10</b> of 10" in explorer.cost.value
    assert explorer.plan is not None and explorer.plan.exports == 7

    explorer.start_picker.value = dt.date(2026, 11, 24)
    assert "3 days: 0 cached, <b>3</b> exports needed" in explorer.cost.value
    # Filters are applied locally to whole-day exports: they do not change the cost.
    explorer.program_ids.value = "1001, 1002"
    explorer.sub_ids.value = "review-1"
    explorer.unique.value = True
    assert explorer.request() == {
        "start": dt.date(2026, 11, 24),
        "end": dt.date(2026, 11, 26),
        "program_id": ["1001", "1002"],
        "sub_id": ["review-1"],
        "unique": True,
    }
    assert explorer.plan.exports == 3
    assert explorer.plan.filters.program_ids == (1001, 1002)

    explorer.end_picker.value = dt.date(2026, 11, 27)  # today: not over yet
    assert "provisional (day not over): 2026-11-27" in explorer.cost.value

    explorer.end_picker.value = dt.date(2026, 11, 1)
    assert explorer.plan is None
    assert "reversed" in explorer.cost.value and "clickkit-error" in explorer.cost.value
    assert sum(requests(client).values()) == 0


def test_cost_warns_when_the_quota_does_not_cover_the_load(
    make_client: Callable[..., ck.Client],
) -> None:
    client = make_client(daily_export_limit=3)
    explorer = widgets.explorer(client)
    assert "Not enough exports left: this needs 7, 3 remain" in explorer.cost.value


# ---------------------------------------------------------------------------------------
# Explorer: loading and drawing


def test_load_draws_the_chart_and_summary_then_redraws_without_api_calls(
    client: ck.Client,
) -> None:
    explorer = widgets.explorer(client)
    explorer.load_button.click()

    df = explorer.data
    assert df is not None and len(df) > 0
    assert exports(client) == 7
    assert [d["source"] for d in df.attrs["clickkit"]["days"]] == ["export"] * 7
    (png,) = pngs(explorer)
    width, height = png_size(png)
    assert width > 600 and height > 300
    summary = html_of(explorer)
    assert f">{len(df):,}</td>" in summary
    unique = df["unique_click"].astype("boolean").mean()
    assert f"{unique:.1%}" in summary
    assert "7 (2026-11-20 to 2026-11-26)" in summary
    top = df["sub_id1"].value_counts().index[0]
    assert "top sub_id1" in summary and top in summary
    assert "ClickExport 7" in summary
    assert explorer.load_button.disabled is False
    # The loaded days are in the cache now: the cost says so.
    assert "7 days: 7 cached, <b>0</b> exports needed" in explorer.cost.value
    assert "exports left today: <b>3</b> of 10" in explorer.cost.value

    before = requests(client)
    seen = {png}
    for chart in widgets.CHARTS:
        explorer.chart.value = chart
        seen.add(pngs(explorer)[0])
    explorer.group_by.value = "customer_country"
    for chart in ("top", "breakdown", "daily"):  # the charts that use the group-by
        explorer.chart.value = chart
        (image,) = pngs(explorer)
        png_size(image)
        seen.add(image)
        assert "Summary" in html_of(explorer)
    assert requests(client) == before  # redrawing never calls the API
    # Every chart, and every grouping of a chart, is a different picture.
    assert len(seen) == len(widgets.CHARTS) + 3
    assert "top customer_country" in html_of(explorer)


def test_loading_a_cached_range_with_filters_is_free_and_filters_locally(
    client: ck.Client,
) -> None:
    explorer = widgets.explorer(client)
    explorer.start_picker.value = dt.date(2026, 11, 25)
    explorer.load()
    everything = explorer.data
    assert everything is not None and exports(client) == 2

    program = int(everything["program_id"].value_counts().index[0])
    explorer.program_ids.value = str(program)
    explorer.unique.value = True
    assert explorer.plan is not None and explorer.plan.exports == 0
    df = explorer.load()
    assert df is explorer.data and df is not None
    assert exports(client) == 2  # served from the cached whole days
    assert len(df) > 0
    assert set(df["program_id"]) == {program}
    assert df["unique_click"].all()
    expected = everything[(everything["program_id"] == program) & everything["unique_click"]]
    assert len(df) == len(expected)
    summary = html_of(explorer)
    assert "program_id=[" in summary and "unique=True" in summary
    assert ("API calls spent", "none") in explorer.summary_rows()


def test_a_provisional_day_is_noted_in_the_summary_not_warned_away(client: ck.Client) -> None:
    explorer = widgets.explorer(client)
    explorer.start_picker.value = dt.date(2026, 11, 26)
    explorer.end_picker.value = dt.date(2026, 11, 27)
    df = explorer.load()
    assert df is not None
    summary = html_of(explorer)
    assert "2 (2026-11-26 to 2026-11-27), 1 provisional" in summary
    assert "provisional data for 2026-11-27" in summary
    assert explorer.notes and "2026-11-27" in explorer.notes[0]


# ---------------------------------------------------------------------------------------
# Explorer: errors are shown in the output, never raised from the button


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"end_picker": dt.date(2026, 11, 1)}, "the range is reversed"),
        ({"start_picker": None}, "choose a start date"),
        ({"end_picker": dt.date(2026, 11, 28)}, "is in the future"),
        ({"program_ids": "12, abc"}, "program_id='abc' is not a numeric id"),
    ],
)
def test_bad_input_shows_a_readable_error_and_spends_nothing(
    client: ck.Client, change: dict[str, Any], expected: str
) -> None:
    explorer = widgets.explorer(client)
    for name, value in change.items():
        getattr(explorer, name).value = value
    explorer.load_button.click()
    text = html.unescape(html_of(explorer))
    assert "clickkit-error" in text and expected in text
    assert "Traceback" not in text
    assert pngs(explorer) == [] and explorer.data is None
    assert sum(requests(client).values()) == 0
    assert explorer.load_button.disabled is False


def test_quota_exhausted_is_shown_before_anything_is_spent(
    make_client: Callable[..., ck.Client],
) -> None:
    client = make_client(daily_export_limit=3)
    explorer = widgets.explorer(client)
    assert explorer.load() is None
    text = html_of(explorer)
    assert "QuotaExhausted" in text and "Nothing was spent" in text
    assert "needs 7 new ClickExport calls but only 3 of 3 remain" in text
    assert exports(client) == 0


def test_wrong_credentials_are_shown_without_the_token(client: ck.Client, tmp_path: Path) -> None:
    server = client.sandbox_server
    token = "not-the-right-token-123"
    wrong = ck.Client(
        server.account_sid,
        token,
        base_url=server.url,
        cache_dir=tmp_path / "wrong",
        clock=server.now,
        progress=False,
        poll_interval=0.02,
    )
    try:
        explorer = widgets.explorer(wrong)
        explorer.start_picker.value = dt.date(2026, 11, 26)
        explorer.load_button.click()
        text = html_of(explorer)
        assert "AuthenticationError" in text
        assert token not in text
        assert explorer.data is None
    finally:
        wrong.close()


def test_an_error_after_a_load_keeps_the_data_for_redraws(client: ck.Client) -> None:
    explorer = widgets.explorer(client)
    explorer.start_picker.value = dt.date(2026, 11, 26)
    df = explorer.load()
    explorer.end_picker.value = dt.date(2026, 11, 1)
    explorer.load_button.click()
    assert "reversed" in html_of(explorer)
    assert explorer.data is df
    explorer.chart.value = "top"  # the loaded data is still there to chart
    assert len(pngs(explorer)) == 1


def test_an_unexpected_error_is_shown_with_its_traceback(client: ck.Client) -> None:
    explorer = widgets.explorer(client)
    explorer.start_picker.value = dt.date(2026, 11, 26)
    df = explorer.load()
    assert df is not None
    # A hand-edited frame whose unique_click column is no longer boolean.
    explorer.data = df.assign(unique_click="maybe")
    explorer.chart.value = "unique share"
    text = html_of(explorer)
    assert "clickkit-error" in text and "TypeError" in text
    assert "<summary>traceback</summary>" in text and "Traceback (most recent call last)" in text
    assert pngs(explorer) == []


# ---------------------------------------------------------------------------------------
# Quota meter and job monitor


def test_quota_meter_reads_the_ledger_without_api_calls(client: ck.Client) -> None:
    meter = widgets.quota_meter(client)
    assert (meter.bar.value, meter.bar.max, meter.bar.bar_style) == (0, 10, "success")
    assert "0 of 10 exports used today, <b>10 left</b>" in meter.text.value
    assert "resets 2026-11-28T00:00+00:00" in meter.text.value
    assert "hourly: not reported yet" in meter.text.value

    client.clicks("2026-11-19", "2026-11-26")
    assert meter.bar.value == 0  # no hidden polling: it changes on refresh only
    before = requests(client)
    meter.refresh_button.click()
    assert requests(client) == before
    assert (meter.bar.value, meter.bar.bar_style) == (8, "warning")
    assert "<b>2 left</b>" in meter.text.value
    assert meter.status.remaining == 2
    assert "hourly: " in meter.text.value and " of 1000 calls left" in meter.text.value


def test_job_monitor_shows_jobs_and_checks_only_on_request(
    make_client: Callable[..., ck.Client],
) -> None:
    client = make_client(job_duration=dt.timedelta(minutes=1))
    monitor = widgets.job_monitor(client)
    assert "No jobs yet" in monitor.table.value
    assert "0 jobs, 0 unfinished (read from the cache" in monitor.message.value

    with pytest.raises(ck.WaitTimeout):
        client.clicks("2026-11-25", "2026-11-26", timeout=0.2)
    monitor.refresh_button.click()
    assert "2 jobs, 2 unfinished (read from the cache" in monitor.message.value
    assert monitor.jobs is not None
    for job_id in monitor.jobs["job_id"]:
        assert job_id in monitor.table.value
    assert "QUEUED" in monitor.table.value

    before = requests(client)["Job"]
    client.sandbox_server.advance(dt.timedelta(minutes=2))
    monitor.check_button.click()
    assert requests(client)["Job"] == before + 2  # one Job call per unfinished job
    assert "checked with the API" in monitor.message.value
    assert list(monitor.jobs["status"]) == ["COMPLETED", "COMPLETED"]
    assert "QUEUED" not in monitor.table.value
    before = requests(client)
    monitor.refresh()
    assert requests(client) == before


def test_explorer_refreshes_linked_helpers_after_a_load(client: ck.Client) -> None:
    meter = widgets.quota_meter(client)
    monitor = widgets.job_monitor(client)
    explorer = widgets.explorer(client, linked=[meter, monitor])
    explorer.start_picker.value = dt.date(2026, 11, 24)
    explorer.load_button.click()
    assert meter.bar.value == 3
    assert monitor.jobs is not None and len(monitor.jobs) == 3


# ---------------------------------------------------------------------------------------
# Display and imports


def test_helpers_display_as_their_widget(client: ck.Client) -> None:
    view = "application/vnd.jupyter.widget-view+json"
    for helper in (
        widgets.explorer(client),
        widgets.quota_meter(client),
        widgets.job_monitor(client),
    ):
        bundle = helper._repr_mimebundle_()
        assert bundle[view]["model_id"] == helper.widget.model_id


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_widgets_loads_no_heavy_library() -> None:
    result = _run(
        "import sys, clickkit, clickkit.widgets, clickkit.charts; "
        "print(sorted(m for m in ('ipywidgets', 'matplotlib', 'IPython', 'pandas') "
        "if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_missing_ipywidgets_names_the_install_command() -> None:
    result = _run(
        "import sys; sys.modules['ipywidgets'] = None\n"  # makes `import ipywidgets` fail
        "import clickkit as ck\n"
        "try:\n"
        "    ck.widgets.quota_meter(None)\n"
        "except ck.MissingDependency as exc:\n"
        "    print(type(exc).__name__, isinstance(exc, ImportError), exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert "MissingDependency True" in result.stdout
    assert "pip install ipywidgets" in result.stdout
