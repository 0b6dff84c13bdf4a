"""A real `celery -A reviewapp worker` in a subprocess, for the integration tests.

The worker runs in a process group of its own, so it can be killed outright (pool
processes included), as when a machine or container dies. Its output is kept for
waiting on ("ready.") and echoed to this process's stderr with a `[worker]` prefix, so
pytest shows it with a failing test's captured output.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import redis

PROJECT_DIR = Path(__file__).resolve().parent.parent

T = TypeVar("T")


def database_url(settings_dict: dict[str, Any], *, application_name: str) -> str:
    """A DATABASE_URL for exactly the database `settings_dict` names (the test database).

    Its sessions carry `application_name`, so they can be told apart in pg_stat_activity.
    """
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = quote(settings_dict.get("HOST") or "", safe="")
    port = settings_dict.get("PORT") or ""
    location = f"{host}:{port}" if port else host
    name = quote(settings_dict["NAME"], safe="")
    return f"postgres://{credentials}@{location}/{name}?application_name={quote(application_name, safe='')}"


def purge_queue(*, redis_url: str, queue: str) -> None:
    """Drop a queue's messages, including those delivered to a worker but never acknowledged.

    kombu's Redis transport keeps unacknowledged messages in the `unacked` hash and puts
    them back on their queue once the visibility timeout passes; removing ours means no
    message of this session turns up later. Only call this while no worker consumes `queue`.
    """
    client = redis.Redis.from_url(redis_url)
    try:
        # The queue's list, its priority lists (`<queue>\x06\x16<n>`) and its bindings.
        client.delete(
            *client.scan_iter(match=f"{queue}*"),
            f"_kombu.binding.{queue}",
            f"_kombu.binding_permanent.{queue}",
        )
        for tag, payload in client.hgetall("unacked").items():
            _message, exchange, routing_key = json.loads(payload)
            if queue in (exchange, routing_key):
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()


def wait_until(condition: Callable[[], T], *, timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll `condition` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g} s: {what} (last seen: {result!r})")
        time.sleep(interval)


class CeleryWorker:
    """Start, stop and kill `celery -A reviewapp worker` processes consuming one queue."""

    def __init__(self, *, env: dict[str, str], queue: str, hostname: str) -> None:
        self.env = env
        self.queue = queue
        self.hostname = hostname
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._output = threading.Condition()
        self._reader: threading.Thread | None = None
        self._output_ended = True

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, timeout: float = 60) -> None:
        """Start a worker; return once it consumes from the queue (its "ready." line)."""
        assert not self.running, "a worker is already running"
        first_line = len(self.lines)
        self._output_ended = False
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "reviewapp",
                "worker",
                f"--queues={self.queue}",
                f"--hostname={self.hostname}",
                "--concurrency=1",
                "--loglevel=INFO",
                # Nothing to synchronise with: other workers never share this queue.
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=PROJECT_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self._reader.start()
        try:
            self.wait_for_output(" ready.", since=first_line, timeout=timeout)
        except Exception:
            self.kill()
            raise

    def wait_for_output(self, text: str, *, since: int = 0, timeout: float = 30) -> str:
        """The first output line from index `since` on that contains `text`."""
        deadline = time.monotonic() + timeout
        with self._output:
            while True:
                for line in self.lines[since:]:
                    if text in line:
                        return line
                if self._output_ended:
                    raise RuntimeError(f"the worker exited before printing {text!r}:\n{self.output()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the worker did not print {text!r} within {timeout:g} s")
                self._output.wait(remaining)

    def stop(self, *, timeout: float = 30) -> None:
        """Warm shutdown: finish the current task, hand unacknowledged messages back, exit."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        self.kill()  # what is left after the timeout, and any stray pool process

    def kill(self) -> None:
        """SIGKILL the whole worker, pool processes included, with no chance to clean up."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)

    def kill_pool_processes(self) -> list[int]:
        """SIGKILL the pool's child processes only; the main process lives on."""
        assert self.running and self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)
        return [int(pid) for pid in children]

    def output(self) -> str:
        with self._output:
            return "\n".join(self.lines)

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            print(f"[worker] {line}", file=sys.stderr, flush=True)
            with self._output:
                self.lines.append(line)
                self._output.notify_all()
        with self._output:
            self._output_ended = True
            self._output.notify_all()


def worker_environment(*, queue: str, **extra: str) -> dict[str, str]:
    """The environment a worker subprocess needs to share this test's database and broker.

    Its database sessions are named after the queue, so tests can find them in pg_stat_activity.
    """
    from django.conf import settings
    from django.db import connection

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
        "DATABASE_URL": database_url(connection.settings_dict, application_name=queue),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_QUEUE": queue,
        "SECRET_KEY": settings.SECRET_KEY,
        "MODEL_ARTIFACT_DIR": str(settings.MODEL_ARTIFACT_DIR),
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
