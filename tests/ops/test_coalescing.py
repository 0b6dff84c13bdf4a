"""reviewapp.coalescing: many requests' ids, one message per window."""

import multiprocessing
import threading

import pytest

from reviewapp.coalescing import Coalescer
from reviewapp.logs import request_id_var


class Recorder:
    """A sender that remembers each call and lets a test await the n-th."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.request_ids: list[str] = []  # the request ID each send was made under
        self.fail_first = fail_first
        self._condition = threading.Condition()

    def __call__(self, ids: list[int]) -> None:
        with self._condition:
            self.calls.append(ids)
            self.request_ids.append(request_id_var.get())
            self._condition.notify_all()
        if self.fail_first and len(self.calls) == 1:
            raise ConnectionRefusedError("broker down")

    def wait_for(self, count: int) -> list[list[int]]:
        with self._condition:
            assert self._condition.wait_for(lambda: len(self.calls) >= count, timeout=10)
            return list(self.calls)


def test_ids_handed_over_within_a_window_go_in_one_send():
    sent = Recorder()
    coalescer = Coalescer(name="test", send=sent, window_seconds=lambda: 0.3, max_ids=100)

    coalescer.add([1])
    coalescer.add([2, 3])
    coalescer.add([4])

    assert sent.wait_for(1) == [[1, 2, 3, 4]]


def test_a_later_window_is_a_later_send():
    sent = Recorder()
    coalescer = Coalescer(name="test", send=sent, window_seconds=lambda: 0.05, max_ids=100)

    coalescer.add([1])
    sent.wait_for(1)
    coalescer.add([2])

    assert sent.wait_for(2) == [[1], [2]]


def test_a_full_batch_is_sent_at_once_by_the_thread_that_filled_it():
    sent = Recorder()
    coalescer = Coalescer(name="test", send=sent, window_seconds=lambda: 3600, max_ids=3)

    coalescer.add([1, 2])
    assert sent.calls == []
    coalescer.add([3])

    assert sent.calls == [[1, 2, 3]]  # no waiting: sent before add returned


def test_flush_sends_what_is_held_as_the_process_exits():
    sent = Recorder()
    coalescer = Coalescer(name="test", send=sent, window_seconds=lambda: 3600, max_ids=100)
    coalescer.add([7, 8])

    coalescer.flush()  # registered with atexit
    coalescer.flush()  # nothing left: no empty message

    assert sent.calls == [[7, 8]]


def test_a_failed_send_is_logged_and_the_next_window_still_sends(caplog):
    sent = Recorder(fail_first=True)
    coalescer = Coalescer(name="routing", send=sent, window_seconds=lambda: 0.05, max_ids=100)

    coalescer.add([1])
    sent.wait_for(1)
    coalescer.add([2])

    assert sent.wait_for(2) == [[1], [2]]
    assert "routing: sending 1 ids failed; the sweeper will send them" in caplog.text


def _child_adds(coalescer: Coalescer, parent_done) -> None:
    coalescer.add([42, 43, 44])  # a full batch: sent at once, by this process
    parent_done.wait(10)  # the process stays up until the parent has seen the send


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_process_sends_its_own_ids_and_not_its_parents():
    context = multiprocessing.get_context("fork")
    sent, parent_done = context.Queue(), context.Event()
    coalescer = Coalescer(name="test", send=sent.put, window_seconds=lambda: 3600, max_ids=3)
    coalescer.add([1])  # held by the parent for an hour

    child = context.Process(target=_child_adds, args=(coalescer, parent_done))
    child.start()
    try:
        assert sent.get(timeout=10) == [42, 43, 44]
    finally:
        parent_done.set()
        child.join(10)


def add_as(coalescer: Coalescer, ids: list[int], request_id: str) -> None:
    token = request_id_var.set(request_id)
    try:
        coalescer.add(ids)
    finally:
        request_id_var.reset(token)


def test_a_message_for_one_request_carries_its_request_id():
    sent = Recorder()
    coalescer = Coalescer(name="test", send=sent, window_seconds=lambda: 0.3, max_ids=100)

    add_as(coalescer, [1], "req-1")
    add_as(coalescer, [2], "req-1")  # a batch: several commits of one request
    sent.wait_for(1)

    assert sent.request_ids == ["req-1"]


def test_a_message_for_several_requests_carries_none_and_the_process_logs_them(caplog):
    sent = Recorder()
    coalescer = Coalescer(name="routing", send=sent, window_seconds=lambda: 0.3, max_ids=100)

    add_as(coalescer, [1], "req-1")
    add_as(coalescer, [2], "req-2")
    sent.wait_for(1)

    assert sent.request_ids == [""]
    (line,) = [r for r in caplog.records if r.getMessage() == "routing: 2 ids of 2 requests in one message"]
    assert line.request_ids == ["req-1", "req-2"]


def _child_exits(coalescer: Coalescer) -> None:
    coalescer.flush()  # what atexit does as a forked process ends


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_process_never_sends_what_its_parent_held():
    context = multiprocessing.get_context("fork")
    sent = context.Queue()
    coalescer = Coalescer(name="test", send=sent.put, window_seconds=lambda: 3600, max_ids=100)
    coalescer.add([1])  # held by the parent

    child = context.Process(target=_child_exits, args=(coalescer,))
    child.start()
    child.join(10)
    coalescer.flush()

    assert sent.get(timeout=10) == [1]  # the parent's own send
    assert sent.empty()
