"""Notebook widgets: explore clicks, watch the export quota, follow jobs.

- :func:`explorer` -- pick dates and filters, see what a load costs before spending
  anything, load, and switch charts and groupings of the loaded data for free;
- :func:`quota_meter` -- ClickExport calls used and left today, and the hourly limit;
- :func:`job_monitor` -- the jobs the cache knows, with an explicit "Check now".

Each helper is one object that holds its state, its controls and (for the explorer) an
``ipywidgets.Output``. The logic lives in plain methods (:meth:`Explorer.load`,
:meth:`Explorer.redraw`, :meth:`Explorer.update_cost`...) that buttons call and that can
be called directly, with or without a kernel. Output is written into the ``Output``
widget's ``outputs`` explicitly (never captured from stdout), so what a method shows is
exactly what ``explorer.output.outputs`` holds. Errors are shown there as readable
messages instead of being lost in a callback's traceback.

Nothing here fetches on its own: every API call comes from a button press or a method
call, through the :class:`~clickkit.Client`'s public methods. ipywidgets, IPython and
matplotlib are imported on first use, so ``import clickkit`` stays fast.

Examples
--------
>>> import clickkit as ck
>>> client = ck.Client.sandbox()  # doctest: +SKIP
>>> ck.widgets.explorer(client)  # doctest: +SKIP
>>> ck.widgets.quota_meter(client)  # doctest: +SKIP
>>> ck.widgets.job_monitor(client)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
import traceback
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from clickkit._optional import import_optional
from clickkit.errors import ClickkitError, InvalidRequestError
from clickkit.plan import describe_when, is_final

if TYPE_CHECKING:
    import pandas as pd

    from clickkit.client import Client
    from clickkit.plan import Plan, QuotaStatus

__all__ = [
    "CHARTS",
    "GROUP_BY",
    "Explorer",
    "JobMonitor",
    "QuotaMeter",
    "explorer",
    "job_monitor",
    "last_complete_days",
    "quota_meter",
]

#: Charts the explorer offers (see :data:`clickkit.charts.CHARTS`).
CHARTS: tuple[str, ...] = ("daily", "hourly heatmap", "top", "breakdown", "unique share")

#: Group-by choices of the explorer; ``""`` means no grouping.
GROUP_BY: tuple[str, ...] = (
    "",
    "program_name",
    "device_type",
    "customer_country",
    "sub_id1",
    "sub_id2",
    "sub_id3",
    "browser",
    "os",
    "traffic_source",
    "ad_type",
)

_ERROR_STYLE = "color:#a40000;background:#fff0f0;border-left:4px solid #a40000;padding:6px 10px"
_NOTE_STYLE = "color:#6b4e00"


def _ipywidgets() -> Any:
    """Import ipywidgets or say how to install it."""
    return import_optional(
        "ipywidgets", feature="clickkit.widgets", install="pip install ipywidgets"
    )


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where a progress widget can be shown)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


@contextlib.contextmanager
def _captured(output: Any, enabled: bool) -> Iterator[None]:
    """Send kernel output (progress bars) to ``output``, letting exceptions through.

    ``ipywidgets.Output`` swallows exceptions raised inside it in IPython (it prints
    them), so they are caught inside and raised again outside.
    """
    if not enabled:
        yield
        return
    error: BaseException | None = None
    with output:
        try:
            yield
        except BaseException as exc:
            error = exc
    if error is not None:
        raise error


def _split(text: str) -> list[str]:
    """Comma- or space-separated values of a text box."""
    return [part for part in re.split(r"[,\s]+", text.strip()) if part]


def _error_html(exc: BaseException) -> str:
    """A readable error box; unexpected errors (not ClickkitError) keep their traceback."""
    kind = type(exc).__name__
    body = f"<b>{html.escape(kind)}</b>: {html.escape(str(exc))}"
    if not isinstance(exc, ClickkitError):
        trace = "".join(traceback.format_exception(exc))
        body += f"<details><summary>traceback</summary><pre>{html.escape(trace)}</pre></details>"
    return f"<div class='clickkit-error' style='{_ERROR_STYLE}'>{body}</div>"


def last_complete_days(client: Client, days: int = 7) -> tuple[dt.date, dt.date]:
    """The last ``days`` days that are final (complete) on the client's clock.

    Parameters
    ----------
    client : Client
        Whose clock, time zone and settle delay decide finality.
    days : int
        How many days.

    Returns
    -------
    tuple of datetime.date
        ``(start, end)``, inclusive.

    Examples
    --------
    >>> start, end = last_complete_days(client, 7)  # doctest: +SKIP
    >>> (end - start).days  # doctest: +SKIP
    6
    """
    settings = client.settings
    end = client.today()
    now = client.now()
    while not is_final(end, now, settings.timezone, settings.settle_delay):
        end -= dt.timedelta(days=1)
    return end - dt.timedelta(days=days - 1), end


class _Displayable:
    """Shows ``self.widget`` when the helper is the value of a notebook cell."""

    widget: Any

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


# ---------------------------------------------------------------------------------------
# Explorer


class Explorer(_Displayable):
    """Pick a date range and filters, see the cost, load, then chart the clicks.

    Build it with :func:`explorer`. Changing dates or filters re-plans (no API call) and
    shows the cost in :attr:`cost`; :meth:`load` (the Load button) fetches through
    ``client.clicks()``; changing the chart or the group-by of loaded data only redraws.

    Parameters
    ----------
    client : Client
        The client to plan and load with.
    days : int
        Length of the default range, which ends on the last complete day.
    linked : sequence of QuotaMeter or JobMonitor
        Helpers whose ``refresh()`` runs after each load, so they show its effect.

    Attributes
    ----------
    data : pandas.DataFrame or None
        The last loaded clicks.
    plan : Plan or None
        The plan of the current controls, as last computed by :meth:`update_cost`.
    notes : list of str
        Warnings of the last load (provisional days, dropped rows), shown in the summary.
    output : ipywidgets.Output
        Where the chart, the summary, progress and errors are shown.
    widget : ipywidgets.VBox
        The whole explorer.

    Examples
    --------
    >>> ex = explorer(client)  # doctest: +SKIP
    >>> ex.chart.value = "top"; ex.group_by.value = "customer_country"  # doctest: +SKIP
    >>> ex.load_button.click()  # doctest: +SKIP
    >>> [o["data"].keys() for o in ex.output.outputs]  # doctest: +SKIP
    """

    def __init__(
        self, client: Client, *, days: int = 7, linked: Sequence[QuotaMeter | JobMonitor] = ()
    ) -> None:
        w = _ipywidgets()
        self.client = client
        self.linked = list(linked)
        self.data: pd.DataFrame | None = None
        self.plan: Plan | None = None
        self.notes: list[str] = []
        start, end = last_complete_days(client, days)
        self.fits_plan: Plan | None = None
        self._add_controls(w, start, end)
        self._lay_out(w)
        self._connect()
        self.update_cost()

    def _add_controls(self, w: Any, start: dt.date, end: dt.date) -> None:
        """The inputs (range, filters, view) and the buttons, with their first values."""
        wide = {"description_width": "initial"}
        self.start_picker = w.DatePicker(value=start, description="Start", style=wide)
        self.end_picker = w.DatePicker(value=end, description="End", style=wide)
        self.program_ids = w.Text(
            description="Program ids",
            placeholder="e.g. 1234, 5678",
            continuous_update=False,
            style=wide,
        )
        self.sub_ids = w.Text(
            description="Sub ids",
            placeholder="any of sub_id1..3",
            continuous_update=False,
            style=wide,
        )
        self.unique = w.Checkbox(value=False, description="Unique clicks only", indent=False)
        self.group_by = w.Dropdown(
            options=[("none" if g == "" else g, g) for g in GROUP_BY],
            value="",
            description="Group by",
            style=wide,
        )
        self.chart = w.Dropdown(options=list(CHARTS), value="daily", description="Chart")
        self.load_button = w.Button(
            description="Load",
            button_style="primary",
            icon="download",
            tooltip="fetch the range with client.clicks() (spends exports only if needed)",
        )
        self.cost = w.HTML()
        # Offered in the cost line when the quota does not cover the whole range.
        self.fits_button = w.Button(
            description="Load what fits now",
            icon="download",
            tooltip="load the most recent complete days the quota covers today "
            "(fetch='fits'); the rest after the reset",
            layout=w.Layout(display="none", width="auto"),
        )

    def _lay_out(self, w: Any) -> None:
        """Arrange the controls and the output area in one box (``self.widget``)."""
        self.output = w.Output()
        # Progress bars are captured from the kernel into their own area, shown inside
        # the main output while loading; the main output is only ever set directly.
        self._progress = w.Output()
        self.widget = w.VBox(
            [
                w.HBox([self.start_picker, self.end_picker]),
                w.HBox([self.program_ids, self.sub_ids, self.unique]),
                w.HBox([self.group_by, self.chart, self.load_button]),
                w.HBox([self.cost, self.fits_button]),
                self.output,
            ],
            layout=w.Layout(width="100%"),
        )
        self.widget.add_class("clickkit-explorer")
        self.output.add_class("clickkit-output")
        self.cost.add_class("clickkit-cost")

    def _connect(self) -> None:
        """Re-price on request changes, redraw on view changes, load on the buttons."""
        for control in (
            self.start_picker,
            self.end_picker,
            self.program_ids,
            self.sub_ids,
            self.unique,
        ):
            control.observe(self._on_request_change, names="value")
        for control in (self.group_by, self.chart):
            control.observe(self._on_view_change, names="value")
        self.load_button.on_click(lambda _button: self.load())
        self.fits_button.on_click(lambda _button: self.load(fetch="fits"))

    # -- reading the controls ----------------------------------------------------------

    def request(self) -> dict[str, Any]:
        """The ``client.clicks()`` arguments the controls describe.

        Raises
        ------
        InvalidRequestError
            When a date is missing. Other problems (a reversed range, a non-numeric
            program id) are reported by the client.
        """
        start, end = self.start_picker.value, self.end_picker.value
        if start is None or end is None:
            missing = "start" if start is None else "end"
            raise InvalidRequestError(f"choose a {missing} date.")
        programs = _split(self.program_ids.value)
        subs = [s.strip() for s in self.sub_ids.value.split(",") if s.strip()]
        return {
            "start": start,
            "end": end,
            "program_id": programs or None,
            "sub_id": subs or None,
            "unique": True if self.unique.value else None,
        }

    @property
    def by(self) -> str | None:
        """The chosen group-by column, or ``None``."""
        return self.group_by.value or None

    # -- cost -----------------------------------------------------------------------------

    def _on_request_change(self, _change: Any) -> None:
        self.update_cost()

    def update_cost(self) -> Plan | None:
        """Plan the current request (no API call) and show its cost in :attr:`cost`.

        Returns
        -------
        Plan or None
            The plan, or ``None`` when the request is invalid (the reason is shown).
        """
        self.fits_plan = None
        try:
            request = self.request()
            plan = self.client.plan(**request)
            if plan.exports > plan.quota.remaining:
                self.fits_plan = self.client.plan(**request, fetch="fits")
        except Exception as exc:  # shown in the cost line, not lost in an observer
            self.plan = None
            self.cost.value = _error_html(exc)
            self.fits_button.layout.display = "none"
            return None
        self.plan = plan
        self.cost.value = _cost_html(plan, self.fits_plan)
        offer = self.fits_plan is not None and self.fits_plan.exports > 0
        self.fits_button.layout.display = None if offer else "none"
        if offer and self.fits_plan is not None:
            self.fits_button.description = (
                f"Load what fits now ({len(self.fits_plan.days)} of {len(plan.days)} days)"
            )
        return plan

    # -- loading and drawing ----------------------------------------------------------

    def load(self, *, fetch: str = "all") -> pd.DataFrame | None:
        """Fetch the request with ``client.clicks()``, then draw the chart and summary.

        Progress is shown in :attr:`output` while jobs run (in a kernel). Errors
        (quota, credentials, dates...) are shown there too, and ``None`` is returned.
        ``fetch="fits"`` (the "Load what fits now" button) loads the most recent
        complete days the quota covers now and leaves the rest for later.

        Returns
        -------
        pandas.DataFrame or None
            The loaded clicks (also kept as :attr:`data`).
        """
        from clickkit.client import ProvisionalDataWarning

        self.load_button.disabled = self.fits_button.disabled = True
        try:
            request = self.request()
            shown = self.fits_plan if fetch == "fits" else self.plan
            detail = _cost_text(shown) if shown else ""
            if fetch == "fits":
                detail = "what fits now" + (f", {detail}" if detail else "")
            self._show(
                _html(
                    f"<i>Loading {request['start']} to {request['end']}"
                    + (f" ({detail})" if detail else "")
                    + "...</i>"
                ),
                self._progress,
            )
            self._progress.outputs = ()
            # A progress bar only makes sense where a front end can draw it.
            kernel = _in_kernel()
            with warnings.catch_warnings(record=True) as caught, _captured(self._progress, kernel):
                warnings.simplefilter("always")
                data = self.client.clicks(
                    **request, fetch=fetch, progress=None if kernel else False
                )
        except Exception as exc:  # shown, not lost in the button callback
            self._show(_html(_error_html(exc)))
            return None
        finally:
            self.load_button.disabled = self.fits_button.disabled = False
        self.notes = []
        for w in caught:
            if issubclass(w.category, UserWarning):  # provisional days, dropped rows...
                note = str(w.message)
                if not issubclass(w.category, ProvisionalDataWarning):
                    note = f"{w.category.__name__}: {note}"
                if note not in self.notes:
                    self.notes.append(note)
            else:  # not for the reader of the summary: back to the usual handling
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        self.data = data
        self.redraw()
        self.update_cost()  # the loaded days are cached now
        for helper in self.linked:
            helper.refresh()
        return data

    def _on_view_change(self, _change: Any) -> None:
        if self.data is not None:
            self.redraw()

    def redraw(self) -> None:
        """Draw the chosen chart of the loaded data and its summary (no API call)."""
        from IPython.display import Image

        from clickkit.charts import chart_png

        if self.data is None:
            self._show(_html("<i>Nothing loaded yet: choose dates and press Load.</i>"))
            return
        try:
            png = chart_png(self.data, self.chart.value, by=self.by, size=(9.0, 4.2))
            summary = self.summary_html()
        except Exception as exc:  # e.g. a hand-made frame without the schema's columns
            self._show(_html(_error_html(exc)))
            return
        self._show(Image(data=png, format="png"), _html(summary))

    def summary_rows(self) -> list[tuple[str, str]]:
        """The summary of the loaded data as ``(label, value)`` rows."""
        if self.data is None:
            return []
        return _summary_rows(self.data, self.by or "sub_id1")

    def summary_html(self) -> str:
        """The summary table of the loaded data, followed by the :attr:`notes`."""
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self.summary_rows()
        )
        notes = "".join(f"<p style='{_NOTE_STYLE}'>{html.escape(note)}</p>" for note in self.notes)
        return f"<table class='clickkit-summary'><caption>Summary</caption>{rows}</table>{notes}"

    def _show(self, *items: Any) -> None:
        """Replace what :attr:`output` shows with ``items`` (display objects or widgets)."""
        self.output.outputs = ()
        for item in items:
            self.output.append_display_data(item)


def _html(markup: str) -> Any:
    from IPython.display import HTML

    return HTML(markup)


def _cost_text(plan: Plan) -> str:
    return (
        f"{plan.exports} export{'s' if plan.exports != 1 else ''} needed, "
        f"{plan.cached} of {len(plan.days)} days cached"
    )


def _cost_html(plan: Plan, fits: Plan | None = None) -> str:
    """What loading the plan costs, whether the quota covers it, and when it can.

    ``fits`` is the ``fetch="fits"`` plan of the same request, offered when the quota
    does not cover the whole range.
    """
    quota = plan.quota
    parts = [
        f"<b>Load cost:</b> {len(plan.days)} days: {plan.cached} cached, "
        f"<b>{plan.exports}</b> export{'s' if plan.exports != 1 else ''} needed",
    ]
    if plan.replays:
        parts.append(f"{plan.replays} replay{'s' if plan.replays != 1 else ''}")
    if plan.count("resume"):
        parts.append(f"{plan.count('resume')} job(s) resumed")
    parts.append(f"exports left today: <b>{quota.remaining}</b> of {quota.limit}")
    text = " · ".join(parts)
    if plan.exports > quota.remaining:
        text += (
            f"<br><span style='color:#a40000'>Not enough exports left: this needs "
            f"{plan.exports}, {quota.remaining} remain until "
            f"{html.escape(quota.resets_at.isoformat(timespec='minutes'))}.</span> "
        )
        if plan.finishes_at is not None:
            text += (
                f"Needs <b>{plan.quota_days} quota days</b>; all loaded by "
                f"<b>{html.escape(describe_when(plan.finishes_at))}</b> (one load a day, or "
                "<code>client.backfill(..., wait=True)</code>)."
            )
        if fits is not None and fits.exports:
            text += (
                f" <i>Load what fits now</i> loads {len(fits.days)} of {len(plan.days)} days "
                f"({fits.exports} export{'s' if fits.exports != 1 else ''}), the most "
                "recent complete ones."
            )
    elif plan.exports:
        text += f" ({plan.quota_after} after this load)"
    if plan.provisional:
        days = ", ".join(d.isoformat() for d in plan.provisional)
        text += f"<br><span style='{_NOTE_STYLE}'>provisional (day not over): {days}</span>"
    return f"<div>{text}</div>"


def _summary_rows(data: pd.DataFrame, top_by: str) -> list[tuple[str, str]]:
    info = data.attrs.get("clickkit") or {}
    days = info.get("days") or []
    rows = [("clicks", f"{len(data):,}")]
    if "unique_click" in data.columns and len(data):
        import pandas as pd

        share = data["unique_click"].astype("boolean").mean()
        rows.append(("unique share", "n/a" if pd.isna(share) else f"{share:.1%}"))
    if days:
        provisional = sum(1 for d in days if not d.get("final"))
        first, last = days[0]["date"], days[-1]["date"]
        text = f"{len(days)} ({first} to {last})"
        if provisional:
            text += f", {provisional} provisional"
        rows.append(("days", text))
        sources = Counter(d.get("source", "cache") for d in days)
        rows.append(("served from", ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))))
    if info.get("filters"):
        rows.append(("filters", ", ".join(f"{k}={v}" for k, v in info["filters"].items())))
    if "api_calls" in info:
        calls = info["api_calls"]
        rows.append(
            (
                "API calls spent",
                ", ".join(f"{k} {v}" for k, v in sorted(calls.items())) if calls else "none",
            )
        )
    if info.get("deferred"):
        rows.append(("deferred (quota)", ", ".join(info["deferred"])))
    if top_by in data.columns and len(data):
        counts = data[top_by].value_counts()
        counts = counts[counts > 0].head(5)
        rows.append(
            (f"top {top_by}", ", ".join(f"{k} ({v:,})" for k, v in counts.items()) or "(none)")
        )
    return rows


def explorer(
    client: Client, *, days: int = 7, linked: Sequence[QuotaMeter | JobMonitor] = ()
) -> Explorer:
    """An :class:`Explorer` for ``client``, its range set to the last complete days.

    Parameters
    ----------
    client : Client
        The client to plan and load with.
    days : int
        Length of the default range.
    linked : sequence of QuotaMeter or JobMonitor
        Helpers refreshed after each load.

    Returns
    -------
    Explorer
        Display it as a cell's value.

    Examples
    --------
    >>> meter = ck.widgets.quota_meter(client)  # doctest: +SKIP
    >>> ck.widgets.explorer(client, linked=[meter])  # doctest: +SKIP
    """
    return Explorer(client, days=days, linked=linked)


# ---------------------------------------------------------------------------------------
# Quota meter


class QuotaMeter(_Displayable):
    """ClickExport calls used and left in this quota day, and the hourly calls left.

    Reads ``client.quota()``, which costs no API call; press Refresh (or call
    :meth:`refresh`) after loading to update it.

    Attributes
    ----------
    status : QuotaStatus
        The last reading.
    bar : ipywidgets.IntProgress
        Exports used out of the daily limit.
    text : ipywidgets.HTML
        The same in words, with the reset time and the hourly limit.

    Examples
    --------
    >>> meter = quota_meter(client)  # doctest: +SKIP
    >>> meter.status.remaining  # doctest: +SKIP
    10
    """

    def __init__(self, client: Client) -> None:
        w = _ipywidgets()
        self.client = client
        self.bar = w.IntProgress(min=0, max=1, value=0, description="Exports used")
        self.bar.style.description_width = "initial"
        self.text = w.HTML()
        self.refresh_button = w.Button(
            description="Refresh", icon="refresh", tooltip="re-read the quota (no API call)"
        )
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.widget = w.HBox([self.bar, self.text, self.refresh_button])
        self.widget.add_class("clickkit-quota")
        self.refresh()

    def refresh(self) -> QuotaStatus | None:
        """Re-read ``client.quota()`` and update the display (no API call)."""
        try:
            status = self.client.quota()
        except Exception as exc:  # shown next to the bar, not lost in the button callback
            self.text.value = _error_html(exc)
            return None
        self.status = status
        self.bar.max = max(status.limit, 1)
        self.bar.value = min(status.used, self.bar.max)
        self.bar.bar_style = (
            "danger" if status.remaining == 0 else "warning" if status.remaining <= 2 else "success"
        )
        self.text.value = _quota_html(status)
        return status


def _quota_html(status: QuotaStatus) -> str:
    resets = status.resets_at.isoformat(timespec="minutes")
    text = (
        f"{status.used} of {status.limit} exports used today, "
        f"<b>{status.remaining} left</b> (resets {html.escape(resets)})"
    )
    if status.hourly_limit is not None:
        text += f" · hourly: {status.hourly_remaining} of {status.hourly_limit} calls left"
    else:
        text += " · hourly: not reported yet (no API call this session)"
    return text


def quota_meter(client: Client) -> QuotaMeter:
    """A :class:`QuotaMeter` for ``client``.

    Examples
    --------
    >>> ck.widgets.quota_meter(client)  # doctest: +SKIP
    """
    return QuotaMeter(client)


# ---------------------------------------------------------------------------------------
# Job monitor


class JobMonitor(_Displayable):
    """The jobs the cache knows for this account, and their states.

    :meth:`refresh` (Refresh) re-reads the cache (no API call); :meth:`check` (Check now)
    asks the API about unfinished jobs, one ``Job`` call each. Nothing polls in the
    background.

    Attributes
    ----------
    jobs : pandas.DataFrame
        The last table from ``client.jobs()``.
    table : ipywidgets.HTML
        The table shown.
    message : ipywidgets.HTML
        A one-line summary, or the error of the last action.

    Examples
    --------
    >>> monitor = job_monitor(client)  # doctest: +SKIP
    >>> monitor.check_button.click()  # doctest: +SKIP
    """

    def __init__(self, client: Client) -> None:
        w = _ipywidgets()
        self.client = client
        self.jobs: pd.DataFrame | None = None
        self.refresh_button = w.Button(
            description="Refresh", icon="refresh", tooltip="re-read the cache (no API call)"
        )
        self.check_button = w.Button(
            description="Check now",
            icon="search",
            tooltip="ask impact.com about unfinished jobs (one Job call each)",
        )
        self.message = w.HTML()
        self.table = w.HTML()
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.check_button.on_click(lambda _button: self.check())
        self.widget = w.VBox(
            [w.HBox([self.refresh_button, self.check_button, self.message]), self.table]
        )
        self.widget.add_class("clickkit-jobs")
        self.refresh()

    def refresh(self) -> pd.DataFrame | None:
        """Show ``client.jobs()`` as the cache has it (no API call)."""
        return self._update(check=False)

    def check(self) -> pd.DataFrame | None:
        """Ask the API about unfinished jobs, then show the table."""
        return self._update(check=True)

    def _update(self, *, check: bool) -> pd.DataFrame | None:
        try:
            frame = self.client.jobs(check=check)
        except Exception as exc:  # shown above the table, not lost in the button callback
            self.message.value = _error_html(exc)
            return None
        self.jobs = frame
        pending = int(frame["pending"].sum()) if len(frame) else 0
        when = self.client.now().isoformat(timespec="seconds")
        action = "checked with the API" if check else "read from the cache"
        self.message.value = (
            f"{len(frame)} job{'s' if len(frame) != 1 else ''}, {pending} unfinished "
            f"({action} at {html.escape(when)})"
        )
        self.table.value = _jobs_html(frame)
        return frame


_JOB_COLUMNS: Sequence[str] = (
    "date",
    "job_id",
    "status",
    "pending",
    "filters",
    "final",
    "rows",
    "replays",
    "fetched_at",
)


def _jobs_html(frame: pd.DataFrame) -> str:
    if not len(frame):
        return "<i>No jobs yet: nothing has been exported with this cache.</i>"
    columns = [c for c in _JOB_COLUMNS if c in frame.columns]
    return frame[columns].to_html(index=False, na_rep="", border=0, classes="clickkit-jobs")


def job_monitor(client: Client) -> JobMonitor:
    """A :class:`JobMonitor` for ``client``.

    Examples
    --------
    >>> ck.widgets.job_monitor(client)  # doctest: +SKIP
    """
    return JobMonitor(client)
