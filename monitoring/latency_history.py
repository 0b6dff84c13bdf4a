"""Request latency over time from stored snapshots: pure arithmetic, no ORM.

A snapshot holds one web server's histograms as counted since its processes started, like a
Prometheus scrape. What a server answered in an interval is the difference of two of its
snapshots; servers are then summed. A count that goes down means the server restarted and
counted again from zero, so the later snapshot is itself the difference (as PromQL's rate()
treats a counter reset): never a negative count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby, pairwise

from monitoring.latency import Histograms, histogram_quantile


@dataclass(frozen=True)
class Snapshot:
    source: str
    taken_at: datetime
    requests: int  # every series' count added up: a drop is the cheap sign of a restart
    bounds: list[float] = field(default_factory=list)
    histograms: Histograms = field(default_factory=dict)
    pk: int | None = None


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def of(cls, buckets: list[int] | None, bounds: list[float]) -> Latency:
        if not buckets:
            return cls(0, None, None, None)
        pairs = list(zip([*bounds, math.inf], buckets, strict=True))
        return cls(buckets[-1], *(histogram_quantile(q, pairs) for q in (0.5, 0.95, 0.99)))


def interval_index(taken_at: datetime, *, start: datetime, step: timedelta) -> int:
    """i such that taken_at is in (start + i·step, start + (i+1)·step]; negative before start.

    Closed at the end: the snapshot taken on the minute holds the requests up to that minute.
    """
    return math.ceil((taken_at - start) / step) - 1


def _by_source(snapshots: Iterable[Snapshot]) -> Iterable[list[Snapshot]]:
    ordered = sorted(snapshots, key=lambda s: (s.source, s.taken_at))
    return (list(series) for _, series in groupby(ordered, key=lambda s: s.source))


def snapshots_needed(snapshots: Iterable[Snapshot], *, start: datetime, step: timedelta) -> list[Snapshot]:
    """Per server its first snapshot, the last of each interval and both sides of each restart.

    Differences of consecutive ones give every interval's figures, so only these need their
    histograms read: about one row per interval instead of one per minute. The first is the
    baseline; both sides of a restart, so that the difference across it is seen as one even
    when the new counts have passed the old ones by the end of the interval.
    """
    needed = []
    for series in _by_source(snapshots):
        for previous, current, following in zip(
            [None, *series[:-1]], series, [*series[1:], None], strict=True
        ):
            if (
                previous is None
                or following is None
                or following.requests < current.requests
                or current.requests < previous.requests
                or interval_index(following.taken_at, start=start, step=step)
                != interval_index(current.taken_at, start=start, step=step)
            ):
                needed.append(current)
    return needed


def difference(later: Snapshot, earlier: Snapshot) -> Histograms:
    """What the server answered between two of its snapshots, by series.

    Counts only grow while a server runs. A series that went down or vanished, or other
    bucket bounds, mean it restarted in between: the later snapshot is all there is to count.
    """
    if (earlier.histograms and later.bounds != earlier.bounds) or not (
        earlier.histograms.keys() <= later.histograms.keys()
    ):
        return later.histograms
    delta = {}
    for key, now in later.histograms.items():
        before = earlier.histograms.get(key)
        if before is None:
            delta[key] = now
            continue
        buckets = [a - b for a, b in zip(now["buckets"], before["buckets"], strict=True)]
        if min(buckets) < 0:
            return later.histograms
        if buckets[-1]:
            delta[key] = {"buckets": buckets, "sum": now["sum"] - before["sum"]}
    return delta


def _add(total: dict[str, list[int]], histograms: Histograms) -> None:
    for key, histogram in histograms.items():
        if key in total:
            total[key] = [a + b for a, b in zip(total[key], histogram["buckets"], strict=True)]
        else:
            total[key] = list(histogram["buckets"])


@dataclass
class History:
    """Bucket counts per series: for each interval, and over the whole window."""

    bounds: list[float]
    intervals: list[dict[str, list[int]]]
    window: dict[str, list[int]] = field(default_factory=dict)

    def latency(self, key: str, interval: int | None = None) -> Latency:
        counts = self.window if interval is None else self.intervals[interval]
        return Latency.of(counts.get(key), self.bounds)


def history(snapshots: Iterable[Snapshot], *, start: datetime, step: timedelta, intervals: int) -> History:
    """Sum every server's differences into `intervals` intervals of `step` from `start`.

    The first snapshot of each server is a baseline only: what it counted before it, and
    when, is unknown. Differences on other bucket bounds than the newest snapshot's (a deploy
    that changed them) cannot be added up and are left out.
    """
    series_list = list(_by_source(snapshots))
    counted = [s for series in series_list for s in series if s.histograms]  # a fresh start has no bounds
    newest = max(counted, key=lambda s: s.taken_at, default=None)
    result = History(bounds=newest.bounds if newest else [], intervals=[{} for _ in range(intervals)])
    for series in series_list:
        for earlier, later in pairwise(series):
            index = interval_index(later.taken_at, start=start, step=step)
            if not 0 <= index < intervals or (later.histograms and later.bounds != result.bounds):
                continue
            delta = difference(later, earlier)
            _add(result.intervals[index], delta)
            _add(result.window, delta)
    return result
