"""A web process lets a few heavy requests in at once; the next waits its turn, then is refused."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import REGISTRY

from reviewapp.api.concurrency import Busy, Slots

TIMEOUT = 10  # seconds a test waits for an event that should come at once


def refused(kind: str) -> float:
    return REGISTRY.get_sample_value("reviewapp_heavy_requests_refused_total", {"kind": kind}) or 0.0


def hold(slots: Slots, inside: threading.Semaphore, leave: threading.Event) -> None:
    with slots.slot():
        inside.release()
        assert leave.wait(TIMEOUT)


def test_a_request_finding_every_slot_taken_is_refused_once_it_has_waited():
    slots = Slots(kind="test-full", limit=2, wait_seconds=0.05)
    inside, leave = threading.Semaphore(0), threading.Event()
    with ThreadPoolExecutor(2) as pool:
        holders = [pool.submit(hold, slots, inside, leave) for _ in range(2)]
        assert inside.acquire(timeout=TIMEOUT) and inside.acquire(timeout=TIMEOUT)

        with pytest.raises(Busy) as busy, slots.slot():
            pytest.fail("a third request got in beside two holding both slots")
        leave.set()
        for holder in holders:
            holder.result(TIMEOUT)

    assert busy.value.status_code == 503
    assert busy.value.wait == 1  # Retry-After, whole seconds
    assert "test-full" in str(busy.value.detail)
    assert refused("test-full") == 1


def test_a_waiting_request_gets_the_slot_another_gives_back():
    slots = Slots(kind="test-turn", limit=1, wait_seconds=TIMEOUT)
    inside, leave = threading.Semaphore(0), threading.Event()

    def wait_then_enter() -> bool:
        with slots.slot():
            return leave.is_set()  # the holder had left: one slot, never two inside

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(hold, slots, inside, leave)
        assert inside.acquire(timeout=TIMEOUT)
        waiter = pool.submit(wait_then_enter)
        leave.set()
        assert waiter.result(TIMEOUT) is True
        holder.result(TIMEOUT)

    assert refused("test-turn") == 0


def test_a_request_that_fails_inside_gives_its_slot_back():
    slots = Slots(kind="test-error", limit=1, wait_seconds=0.05)
    with pytest.raises(ZeroDivisionError), slots.slot():
        1 / 0

    with slots.slot():  # refused with Busy had the failure kept the slot
        pass


def test_the_gauge_counts_the_requests_inside():
    slots = Slots(kind="test-gauge", limit=3, wait_seconds=0.05)

    def in_progress() -> float | None:
        return REGISTRY.get_sample_value("reviewapp_heavy_requests_in_progress", {"kind": "test-gauge"})

    with slots.slot(), slots.slot():
        assert in_progress() == 2
    assert in_progress() == 0


def test_no_limit_lets_every_request_in_at_once():
    slots = Slots(kind="test-unlimited", limit=0, wait_seconds=0.0)
    together = threading.Barrier(6, timeout=TIMEOUT)

    def enter() -> None:
        with slots.slot():
            together.wait()  # breaks (BrokenBarrierError) unless all six are inside at once

    with ThreadPoolExecutor(6) as pool:
        for entered in [pool.submit(enter) for _ in range(6)]:
            entered.result(TIMEOUT)
