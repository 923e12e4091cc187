"""The notebooks run top to bottom in a real kernel, without credentials, and are committed clean.

Each notebook is executed with ``nbclient`` in a ``python3`` kernel whose environment has
no ``IMPACT_*`` variables (so it falls back to the sandbox) and ``CLICKKIT_CACHE_DIR``
pointing at a temp folder. The checks look at what a reader would see: the plan text, the
plots, the replay of a day that became final, the widgets' state.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Execute a notebook in a fresh kernel; return it with its outputs."""
    # The kernel inherits this process's environment (IMPACT_* are already removed).
    monkeypatch.setenv("CLICKKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    )
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=60,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    started = time.monotonic()
    client.execute()  # raises CellExecutionError on the first failing cell
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"{path.name} took {elapsed:.0f} s"
    return nb


def outputs(nb: Any) -> list[dict[str, Any]]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]


def text(nb: Any) -> str:
    """All stream text and plain-text results, in order."""
    parts = []
    for o in outputs(nb):
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type in ("execute_result", "display_data"):
            parts.append(o.data.get("text/plain", ""))
    return "\n".join(parts)


def stream(nb: Any, name: str) -> str:
    return "".join(o.text for o in outputs(nb) if o.output_type == "stream" and o.name == name)


def pngs(nb: Any) -> list[dict[str, Any]]:
    return [o for o in outputs(nb) if "image/png" in o.get("data", {})]


def test_the_guided_notebooks_are_there() -> None:
    assert set(CHECKS) <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebooks_have_no_outputs(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata  # no saved widget state
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], cell["source"]
            assert cell["execution_count"] is None, cell["source"]


def check_quickstart(nb: Any, tmp_path: Path) -> None:
    """A week loaded, described and plotted."""
    out = text(nb)
    assert "sandbox - Client(account_sid=" in out
    assert str(tmp_path / "cache") in out  # the cache went where the test said
    assert "new exports: 7" in out  # the plan, printed before spending
    assert "API calls spent: {'ClickExport': 7" in out
    assert "unique clicks; API calls spent: none" in out  # filters are local
    assert "event_date" in out and "category" in out  # the dtypes
    assert len(pngs(nb)) == 4  # daily, top, heatmap, then breakdown and unique share
    assert "Traceback" not in out


def check_explorer(nb: Any, tmp_path: Path) -> None:
    """The three widgets displayed, the explorer's cost computed in the kernel."""
    views = [o for o in outputs(nb) if WIDGET_VIEW in o.get("data", {})]
    assert len(views) == 3  # explorer, quota meter, job monitor
    assert views[0].data["text/plain"].startswith("VBox(")
    state = nb.metadata.widgets[WIDGET_STATE]["state"]
    values = [m["state"].get("value") for m in state.values()]
    html = "\n".join(v for v in values if isinstance(v, str))
    assert "<b>Load cost:</b> 7 days: 0 cached, <b>7</b> exports needed" in html
    assert "0 of 10 exports used today, <b>10 left</b>" in html
    assert "No jobs yet" in html
    assert stream(nb, "stderr") == ""


def check_quota(nb: Any, tmp_path: Path) -> None:
    """A provisional day replayed once after it closes; refresh guards; the quota error."""
    out = text(nb)
    assert "provisional days:" in out  # the plan flags today
    assert "ProvisionalDataWarning" in stream(nb, "stderr")
    assert "becomes final at" in out and "sandbox clock is now" in out
    assert "day closed since the provisional fetch: replay" in out
    found = re.search(r": ([\d,]+) rows when provisional, ([\d,]+) now that it is final", out)
    assert found, out
    before, after = (int(n.replace(",", "")) for n in found.groups())
    assert after > before  # the replayed, final day has the late clicks
    assert "source: replay - API calls spent: {" in out and "'Replay': 1" in out
    assert "ClickExport" not in out.split("source: replay")[1].split("\n")[0]
    assert "source: cache - API calls spent: none" in out
    assert "refused: " in out and "min_refresh_interval" in out
    assert "nothing is cached for" in out
    assert "QuotaExhausted: this request needs" in out and "Nothing was spent" in out
    assert "days deferred" in out
    # A quarter: how many quota days it needs and when all of it is loaded, then a backfill.
    assert re.search(r"quota days needed: \d+ \(\d+ exports", out), out
    assert "all loaded by" in out and "quota days; all loaded by" in out
    assert re.search(r"backfill \S+ to \S+: 8 exports, 0 replays; \d+ of 91 days done", out), out


CHECKS: dict[str, Callable[[Any, Path], None]] = {
    "01-quickstart": check_quickstart,
    "02-explorer": check_explorer,
    "03-quota-finality-refresh": check_quota,
}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_credentials(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = run(path, tmp_path, monkeypatch)
    assert [o for o in outputs(nb) if o.output_type == "error"] == []
    check = CHECKS.get(path.stem)
    if check is not None:
        check(nb, tmp_path)
