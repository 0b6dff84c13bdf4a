"""How many heavy requests a web process works on at once; the rest wait their turn, briefly.

A 1,000-row scoring batch holds its parsed rows, feature matrix, explanations and answer in
memory while it runs: tens of MiB. Each web process runs up to WEB_THREADS requests at once,
so eight clients sending batches together took a worker from ~170 to ~240 MiB, past its
budget, and bought no throughput: batches are CPU work, and one process's Python runs on one
core at a time (bench/README.md). A `Slots` lets a few in at a time; a request that finds them
all taken waits for one (a waiting request holds its thread but neither CPU nor its parsed
body: call it before reading the body), and one still waiting after `wait_seconds` is refused
with 503 and Retry-After, as a client would be by a proxy in front of an overloaded server.
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge
from rest_framework import exceptions, status

if TYPE_CHECKING:
    from collections.abc import Iterator

IN_PROGRESS = Gauge(
    "reviewapp_heavy_requests_in_progress",
    "Heavy requests (scoring batches, ...) a web process is working on now, by kind.",
    ["kind"],
    multiprocess_mode="livesum",
)
REFUSED = Counter(
    "reviewapp_heavy_requests_refused",
    "Heavy requests answered 503 because the process's slots for their kind stayed taken.",
    ["kind"],
)


class Busy(exceptions.APIException):
    """503 with Retry-After: every slot stayed taken for as long as a request may wait."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "busy"

    def __init__(self, *, kind: str, retry_after: int) -> None:
        seconds = "1 second" if retry_after == 1 else f"{retry_after} seconds"
        super().__init__(f"Too many {kind} requests in progress on this server; retry after {seconds}.")
        self.wait = retry_after  # DRF's exception handler sends it as Retry-After


class Slots:
    """At most `limit` callers inside `slot()` at once in this process (0: no limit)."""

    def __init__(self, *, kind: str, limit: int, wait_seconds: float) -> None:
        self.kind = kind
        self.wait_seconds = wait_seconds
        self._free = threading.BoundedSemaphore(limit) if limit else None
        self._in_progress = IN_PROGRESS.labels(kind)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if self._free is None:
            yield
            return
        if not self._free.acquire(timeout=self.wait_seconds):
            REFUSED.labels(self.kind).inc()
            raise Busy(kind=self.kind, retry_after=max(1, math.ceil(self.wait_seconds)))
        self._in_progress.inc()
        try:
            yield
        finally:
            self._in_progress.dec()
            self._free.release()
