"""Download the next finished result while the current one is parsed.

When a ``GET Jobs`` list shows several jobs COMPLETED, their results are checked one
after the other: download (network, gzip decoding, hashing), then parse. The first half
releases the GIL, so a :class:`Prefetcher` runs the download of the next job the list
showed finished on a thread while the previous result is parsed. It starts at most
``ahead`` downloads beyond the one being used, so at most that many results wait in
memory, and it only fetches jobs it was told will be checked: a result it fetched and
nobody took is one Download call (free of quota) spent for nothing.

Examples
--------
>>> with Prefetcher(lambda job_id: f"result of {job_id}") as prefetcher:
...     prefetcher.plan(["a", "b"])
...     prefetcher.take("a").result(), prefetcher.take("b").result()
('result of a', 'result of b')
"""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Prefetcher"]


class Prefetcher:
    """Fetch planned jobs' results on a thread, ``ahead`` of the one taken.

    Parameters
    ----------
    fetch : callable
        ``fetch(job_id)``: the download, called on the prefetch thread.
    ahead : int
        How many planned results may be fetched (or held) beyond those taken.

    Notes
    -----
    Leaving the ``with`` block on an error does not wait for a fetch under way: it ends
    on its thread and its result is dropped.

    Examples
    --------
    >>> with Prefetcher(str.upper, ahead=1) as prefetcher:
    ...     prefetcher.plan(["a", "b", "c"])
    ...     [prefetcher.take(job_id).result() for job_id in "abc"], prefetcher.take("d")
    (['A', 'B', 'C'], None)
    """

    def __init__(self, fetch: Callable[[str], Any], *, ahead: int = 1) -> None:
        self._fetch = fetch
        self._ahead = ahead
        self._queue: collections.deque[str] = collections.deque()
        self._started: dict[str, concurrent.futures.Future[Any]] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(1, "clickkit-download")

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(wait=exc[0] is None)

    def plan(self, job_ids: Iterable[str]) -> None:
        """Job ids whose results will be taken, in the order they will be."""
        known = set(self._queue) | set(self._started)
        self._queue.extend(j for j in dict.fromkeys(job_ids) if j not in known)
        self._fill()

    def take(self, job_id: str) -> concurrent.futures.Future[Any] | None:
        """The fetch of ``job_id`` if one was started (its future), else ``None``.

        Either way ``job_id`` leaves the plan and the next planned fetch may start.
        """
        future = self._started.pop(job_id, None)
        if job_id in self._queue:
            self._queue.remove(job_id)
        self._fill()
        return future

    def close(self, *, wait: bool = True) -> None:
        """Drop what was not taken; with ``wait``, let a running fetch end first."""
        self._queue.clear()
        for future in self._started.values():
            future.cancel()
        self._started.clear()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _fill(self) -> None:
        while self._queue and len(self._started) < self._ahead:
            job_id = self._queue.popleft()
            self._started[job_id] = self._pool.submit(self._fetch, job_id)
