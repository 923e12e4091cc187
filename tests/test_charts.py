"""Tests of clickkit.charts: real PNG files from real sandbox data, and ``clickkit demo``."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import clickkit as ck
from clickkit import charts

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = [
    "daily-clicks.png",
    "hourly-heatmap.png",
    "top-sub-ids.png",
    "device-breakdown.png",
    "unique-share.png",
]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk of a PNG."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def week(make_client: Callable[..., ck.Client]) -> pd.DataFrame:
    client = make_client()
    return client.clicks("2026-11-20", "2026-11-26")


def test_write_charts_writes_the_five_main_charts_as_pngs(
    week: pd.DataFrame, tmp_path: Path
) -> None:
    folder = tmp_path / "new" / "charts"  # created on demand
    paths = charts.write_charts(week, folder)
    assert [p.name for p in paths] == NAMES
    assert sorted(p.name for p in folder.iterdir()) == sorted(NAMES)
    contents = set()
    for path in paths:
        data = path.read_bytes()
        assert png_size(data) == (800, 400)  # 8 x 4 inches at 100 dpi
        assert data.endswith(b"IEND\xaeB`\x82")  # written completely
        assert 10_000 < len(data) < 500_000  # a drawn chart, not an empty canvas
        contents.add(data)
    assert len(contents) == len(NAMES)


def test_write_charts_replaces_files_and_honours_dpi(week: pd.DataFrame, tmp_path: Path) -> None:
    charts.write_charts(week, tmp_path / "charts")
    paths = charts.write_charts(week, tmp_path / "charts", dpi=50, size=(6.0, 3.0))
    assert len(list((tmp_path / "charts").iterdir())) == len(NAMES)
    assert {png_size(p.read_bytes()) for p in paths} == {(300, 150)}


def test_write_charts_of_no_clicks_still_writes_readable_charts(
    week: pd.DataFrame, tmp_path: Path
) -> None:
    paths = charts.write_charts(week.iloc[:0], tmp_path / "charts")
    assert [png_size(p.read_bytes()) for p in paths] == [(800, 400)] * len(NAMES)


def test_chart_png_draws_every_chart_and_refuses_unknown_ones(week: pd.DataFrame) -> None:
    images = {name: charts.chart_png(week, name) for name in charts.CHARTS}
    assert all(png_size(png) == (800, 400) for png in images.values())
    assert len(set(images.values())) == len(charts.CHARTS)
    grouped = charts.chart_png(week, "daily", by="device_type")
    assert grouped != images["daily"]
    with pytest.raises(ck.InvalidRequestError, match="not one of daily, hourly heatmap"):
        charts.chart_png(week, "pie")
    with pytest.raises(ck.InvalidRequestError, match="by='device' is not a column"):
        charts.chart_png(week, "top", by="device")


def test_write_charts_leaves_pyplot_and_rcparams_alone(tmp_path: Path) -> None:
    code = """
import datetime as dt, io, pathlib, sys
import pyarrow as pa, pyarrow.csv
import matplotlib
from clickkit import schema
from clickkit.charts import write_charts
from clickkit.sandbox import generate_day
tables = [generate_day(dt.date(2026, 11, d), clicks_per_day=200) for d in (24, 25)]
buffer = io.BytesIO()
pa.csv.write_csv(pa.concat_tables(tables), buffer)
df = schema.to_pandas(schema.parse_export(buffer.getvalue()), "UTC")
# Reading rcParams["backend"] would itself import pyplot to resolve it: skip that key.
def params():
    return {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}
before = params()
write_charts(df, pathlib.Path(sys.argv[1]))
print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
print("same rcParams" if params() == before else "rcParams changed")
"""
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["no pyplot", "same rcParams"]
    assert len(list(tmp_path.glob("*.png"))) == len(NAMES)


@pytest.mark.slow
def test_clickkit_demo_writes_the_charts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPACT_", "CLICKKIT_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "clickkit",
            "demo",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--charts",
            str(tmp_path / "charts"),
            "--no-progress",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "API calls spent" in result.stdout
    assert f"charts written to {(tmp_path / 'charts').resolve()}" in result.stdout
    for name in NAMES:
        assert f"  {name}" in result.stdout
        assert png_size((tmp_path / "charts" / name).read_bytes()) == (800, 400)
