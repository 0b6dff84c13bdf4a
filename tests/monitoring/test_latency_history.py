"""Latency over time from cumulative snapshots: differences, restarts, servers, percentiles."""

from datetime import UTC, datetime, timedelta

import pytest

from monitoring.latency_history import Latency, difference, history, interval_index, snapshots_needed
from tests.monitoring.factories import BATCH, BOUNDS, SCORING, histogram, snapshot

START = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def over(snapshots, intervals: int = 4):
    return history(snapshots, start=START, step=STEP, intervals=intervals)


def test_an_interval_counts_what_was_answered_between_two_snapshots():
    result = over(
        [
            snapshot("web-1", at(0), {SCORING: [0.02] * 10}),
            snapshot("web-1", at(5), {SCORING: [0.02] * 10 + [0.06] * 20}),
        ]
    )

    latency = result.latency(SCORING, 0)
    assert latency.count == 20
    assert latency.p50 == pytest.approx(0.0625)  # all 20 in (50 ms, 75 ms], interpolated
    assert result.latency(SCORING, 1).count == 0


def test_consecutive_intervals_each_get_their_own_requests():
    result = over(
        [
            snapshot("web-1", at(0), {}),
            snapshot("web-1", at(10), {SCORING: [0.02] * 3}),
            snapshot("web-1", at(20), {SCORING: [0.02] * 3 + [0.4] * 7}),
            snapshot("web-1", at(50), {SCORING: [0.02] * 3 + [0.4] * 7 + [0.02]}),
        ]
    )

    assert [result.latency(SCORING, i).count for i in range(4)] == [3, 7, 0, 1]
    assert result.latency(SCORING).count == 11


def test_a_snapshot_on_the_minute_closes_the_interval_that_ends_then():
    assert interval_index(at(15), start=START, step=STEP) == 0
    assert interval_index(at(15.5), start=START, step=STEP) == 1
    assert interval_index(at(0), start=START, step=STEP) == -1  # a baseline before the window


def test_web_servers_are_added_up():
    result = over(
        [
            snapshot("web-1", at(1), {SCORING: [0.02] * 5}),
            snapshot("web-1", at(2), {SCORING: [0.02] * 8}),
            snapshot("web-2", at(1), {SCORING: [0.3] * 100}),
            snapshot("web-2", at(2), {SCORING: [0.3] * 102, BATCH: [1.2]}),
        ]
    )

    assert result.latency(SCORING, 0).count == 3 + 2
    assert result.latency(BATCH, 0).count == 1


def test_a_server_that_just_started_does_not_hide_the_others():
    result = over(
        [
            snapshot("web-1", at(1), {SCORING: [0.02] * 5}),
            snapshot("web-1", at(2), {SCORING: [0.02] * 8}),
            snapshot("web-2", at(3), {}),  # newest, and nothing counted yet
        ]
    )

    assert result.latency(SCORING, 0).count == 3


def test_figures_on_bucket_bounds_since_replaced_are_left_out():
    result = over(
        [
            snapshot("web-1", at(1), {SCORING: [0.02] * 5}, bounds=[0.1, 1.0]),
            snapshot("web-1", at(2), {SCORING: [0.02] * 8}, bounds=[0.1, 1.0]),
            snapshot("web-2", at(1), {SCORING: [0.02] * 1}),
            snapshot("web-2", at(3), {SCORING: [0.02] * 3}),  # the newest: its bounds are the page's
        ]
    )

    assert result.latency(SCORING, 0).count == 2
    assert result.bounds == BOUNDS


def test_a_restart_counts_from_zero_instead_of_going_negative():
    result = over(
        [
            snapshot("web-1", at(1), {SCORING: [0.02] * 100}),
            snapshot("web-1", at(2), {SCORING: [0.02] * 5}),  # counting began again
        ]
    )

    assert result.latency(SCORING, 0).count == 5


def test_a_restart_is_seen_even_when_the_new_total_is_higher():
    before = snapshot("web-1", at(1), {SCORING: [0.002] * 10})
    after = snapshot("web-1", at(2), {SCORING: [0.3] * 12})  # fast bucket went from 10 to 0

    assert difference(after, before) == after.histograms


def test_a_series_that_vanished_means_a_restart():
    before = snapshot("web-1", at(1), {SCORING: [0.02] * 3, BATCH: [1.0]})
    after = snapshot("web-1", at(2), {SCORING: [0.02] * 4})

    assert difference(after, before) == after.histograms


def test_new_bucket_bounds_mean_a_restart():
    before = snapshot("web-1", at(1), {SCORING: [0.02] * 3})
    after = snapshot("web-1", at(2), {SCORING: [0.02] * 4}, bounds=[0.1, 1.0])

    assert difference(after, before) == after.histograms


def test_a_series_first_seen_counts_from_zero():
    before = snapshot("web-1", at(1), {SCORING: [0.02] * 3})
    after = snapshot("web-1", at(2), {SCORING: [0.02] * 3, BATCH: [1.0, 2.0]})

    assert difference(after, before) == {BATCH: histogram([1.0, 2.0])}


def test_the_first_snapshot_of_a_server_is_only_a_baseline():
    # What it counted before, and when, is unknown: none of it lands in an interval.
    result = over([snapshot("web-1", at(5), {SCORING: [0.02] * 50})])

    assert result.latency(SCORING).count == 0


def test_differences_outside_the_window_are_left_out():
    result = over(
        [
            snapshot("web-1", at(-30), {}),
            snapshot("web-1", at(-20), {SCORING: [0.02] * 4}),
            snapshot("web-1", at(70), {SCORING: [0.02] * 9}),  # after the 4th interval
        ]
    )

    assert result.latency(SCORING).count == 0


def test_reading_only_the_needed_snapshots_gives_the_same_figures_as_reading_all():
    # One server, a snapshot a minute, 7 requests a minute; it restarts at 10:23, then answers
    # 40 a minute, and by the end of that interval its new total has passed the old one.
    series, answered = [], 0
    for minute in range(-3, 60):
        if minute == 23:
            answered = 0
        answered += 7 if minute < 23 else 40
        series.append(snapshot("web-1", at(minute), {SCORING: [0.02] * answered}))
    series.append(snapshot("web-2", at(12), {SCORING: [0.3] * 5}))
    series.append(snapshot("web-2", at(14), {SCORING: [0.3] * 6}))

    needed = snapshots_needed(series, start=START, step=STEP)

    assert len(needed) < len(series) / 5
    full, partial = over(series), over(needed)
    assert [partial.latency(SCORING, i) for i in range(4)] == [full.latency(SCORING, i) for i in range(4)]
    assert full.latency(SCORING, 1).count == 7 * 7 + 40 + 7 * 40  # 10:16-10:22, the restart, 10:24-10:30


def test_percentiles_come_from_the_bucket_counts():
    latency = Latency.of(histogram([0.02] * 50 + [0.04] * 45 + [0.25] * 5)["buckets"], BOUNDS)

    assert latency.count == 100
    assert latency.p50 == pytest.approx(0.025)
    assert latency.p95 == pytest.approx(0.05)
    assert latency.p99 == pytest.approx(0.28)
    assert Latency.of(None, BOUNDS) == Latency(0, None, None, None)
