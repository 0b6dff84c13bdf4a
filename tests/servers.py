"""Real web servers (serve.py: granian) and other background processes for the tests that need one.

Each runs in a process group of its own, so stopping it takes its workers too. Its output goes
to a log file; with LOG_FORMAT=json every line of the app (one access line per request, with
the worker's pid) can be read back with `lines()`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tests.worker import PROJECT_DIR, wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 20) -> tuple[int, dict, bytes]:
    """Status, headers and body of a GET, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def web_environment(*, database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a production web process gets, on this test's database and model directory."""
    from django.conf import settings

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "WEB_CONCURRENCY": "2",
        "MODEL_ARTIFACT_DIR": str(settings.MODEL_ARTIFACT_DIR),
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Background:
    """A command in a process group of its own, its output in a log file."""

    def __init__(self, command: Sequence[str], *, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            list(command),
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def lines(self) -> list[dict]:
        """The JSON lines of its output (LOG_FORMAT=json)."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def stop(self) -> None:
        """SIGTERM the group (the process and its children), then SIGKILL whatever is left."""
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue


class WebServer(Background):
    """The web server on a free loopback port: `python serve.py` as production starts it, or
    another command (`command`) that takes the port from {port}."""

    def __init__(self, *, env: dict[str, str], log: Path, command: Sequence[str] = ("serve.py",)) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, *(part.format(port=self.port) for part in command)]
        super().__init__(argv, env={**env, "WEB_LISTEN": f"127.0.0.1:{self.port}"}, log=log)

    def wait_ready(self, *, timeout: float = 60) -> WebServer:
        wait_until(self._answers, timeout=timeout, what=f"the web server on {self.port} to answer /healthz")
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the web server exited:\n{self.log.read_text()}")
        try:
            return get(f"{self.base}/healthz", timeout=5)[0] == 200
        except OSError:
            return False

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid) for pid in children.split()}
