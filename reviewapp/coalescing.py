"""One message for many: what a process's requests hand to a task, sent together every window.

Each scoring request used to publish its own Celery message for the predictions it routed to
review, and the worker ran one task for each: at 700 requests/s the publish, the delivery and the
task's fixed costs were paid tens of times a second for a handful of rows (bench/README.md). A
`Coalescer` gathers the ids a process produced during `window_seconds` and sends them in one
call, from one background thread per process; a full batch is sent at once, by the thread that
filled it.

The message carries the request ID of the request that produced its ids when there was one
request (the worker's log lines then name it, as they would without coalescing); a message for
several requests carries none, and the process logs which requests it grouped.

What it holds is not durable, by design: it holds only ids whose rows are already committed in
an outbox (the routing state, the shadow's missing scores), and a sweeper re-sends whatever a
killed process never sent. At exit the process sends what it holds.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

from reviewapp.logs import request_id_var

logger = logging.getLogger(__name__)


class Coalescer:
    """Gathers ids and calls `send` with them at most once per window, from a daemon thread."""

    def __init__(
        self,
        *,
        name: str,
        send: Callable[[list[int]], None],
        window_seconds: Callable[[], float],
        max_ids: int,
    ) -> None:
        self.name = name
        self._send = send
        self._window_seconds = window_seconds
        self._max_ids = max_ids
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._request_ids: dict[str, None] = {}  # of the requests that handed the pending ids, in order
        self._arrived = threading.Event()
        self._owner_pid: int | None = None  # the process whose thread sends; a fork starts anew
        atexit.register(self.flush)

    def add(self, ids: list[int]) -> None:
        """Hold `ids` for the next send (never raises: sending errors are the sender's to log)."""
        request_id = request_id_var.get()
        with self._lock:
            if self._owner_pid != os.getpid():
                self._start()
            self._pending.extend(ids)
            if request_id:
                self._request_ids[request_id] = None
            full = len(self._pending) >= self._max_ids
        if full:
            self.flush()
        else:
            self._arrived.set()

    def send_now(self, ids: list[int]) -> None:
        """Send `ids` at once, by themselves (no broker to spare: tasks run eagerly)."""
        self._send(ids)

    def flush(self) -> None:
        """Send what is held now, if anything (in a forked process, only what it was handed)."""
        with self._lock:
            if self._owner_pid != os.getpid():
                return  # the parent's ids, copied by the fork: the parent sends them
            ids, self._pending = self._pending, []
            request_ids, self._request_ids = list(self._request_ids), {}
        if not ids:
            return
        if len(request_ids) > 1:
            logger.info(
                "%s: %d ids of %d requests in one message",
                self.name,
                len(ids),
                len(request_ids),
                extra={"request_ids": request_ids},
            )
        # The message's request ID header is read from the context (reviewapp.logs).
        token = request_id_var.set(request_ids[0] if len(request_ids) == 1 else "")
        try:
            self._send(ids)
        except Exception:  # the sender handles its transport's errors; nothing may kill the thread
            logger.exception("%s: sending %d ids failed; the sweeper will send them", self.name, len(ids))
        finally:
            request_id_var.reset(token)

    def _start(self) -> None:
        # Called with the lock held, in a new process (or the first time): what a parent held
        # before the fork is the parent's to send.
        self._owner_pid = os.getpid()
        self._pending = []
        self._request_ids = {}
        self._arrived = threading.Event()
        threading.Thread(target=self._run, name=f"coalescer:{self.name}", daemon=True).start()

    def _run(self) -> None:
        arrived = self._arrived
        while True:
            arrived.wait()
            # The window: what other requests hand over meanwhile goes in the same message.
            time.sleep(self._window_seconds())  # read each time, so settings apply
            arrived.clear()
            self.flush()
