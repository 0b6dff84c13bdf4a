"""Each web server stores its request-latency histograms once a minute, off the request path.

In the web process, not in a Celery task: the histograms live in the web server's memory or
its PROMETHEUS_MULTIPROC_DIR, which a worker in another container or on another host cannot
read. Each web process (a web server's worker or runserver) starts one daemon thread when
reviewapp/wsgi.py sends `web_process_started` (monitoring/receivers.py); it wakes on each
minute, and the first process of a server to write the minute's row wins
(services.latency_snapshot_record). Requests never wait for it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.db import connections

from monitoring import services
from reviewapp import metrics

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 60
# Read just after the minute, so the row's minute holds every request up to it.
AFTER_THE_MINUTE = 0.5


def source_name() -> str:
    """Which histograms these are: one server's shared directory, or one process's own counters."""
    host = socket.gethostname()
    if metrics.multiprocess_mode():
        # A web server's workers share the directory; a new one each start unless fixed by hand.
        return f"{host}:{os.environ.get('PROMETHEUS_MULTIPROC_DIR', '')}"
    return f"{host}:pid {os.getpid()}"


def seconds_to_next_minute(now: float) -> float:
    return INTERVAL_SECONDS - now % INTERVAL_SECONDS + AFTER_THE_MINUTE


class LatencyRecorder(threading.Thread):
    """Records at once (a baseline for the counts to come), then on every minute until stopped."""

    def __init__(self, *, source: str) -> None:
        super().__init__(name="latency-recorder", daemon=True)
        self.source = source
        self.stopping = threading.Event()
        self.recorded = threading.Event()  # set after each attempt; lets a test await one

    def record(self) -> None:
        try:
            services.latency_snapshot_record(source=self.source)
        except Exception:
            # A database outage must not end the thread: the next minute tries again.
            logger.warning("latency snapshot of %s not recorded", self.source, exc_info=True)
        finally:
            # Idle for a minute: give the connection back rather than hold one per process.
            connections.close_all()
            self.recorded.set()

    def run(self) -> None:
        while True:
            self.record()
            if self.stopping.wait(seconds_to_next_minute(time.time())):
                return

    def stop(self) -> None:
        self.stopping.set()


_recorder: LatencyRecorder | None = None
_lock = threading.Lock()


def start() -> LatencyRecorder:
    """Start this process's recorder, once."""
    global _recorder
    with _lock:
        if _recorder is None or not _recorder.is_alive():
            _recorder = LatencyRecorder(source=source_name())
            _recorder.start()
        return _recorder
