#!/usr/bin/env python
"""The web server: granian serving reviewapp.wsgi as production needs it (`python serve.py`).

granian reads and writes HTTP in Rust and calls the app from a pool of Python threads in each
worker process; gunicorn, which served before, spent about a third of a scoring request's
Python in its own event loop and thread hand-offs (bench/README.md). Everything is set here,
from the environment, so the container, the chart, `make serve` and the tests start it alike:

  WEB_LISTEN            host:port to listen on (0.0.0.0:8000)
  WEB_CONCURRENCY       worker processes (one per core this process may run on)
  WEB_THREADS           Python threads per worker (8): the requests a worker runs at once
  WEB_KEEPALIVE         seconds an idle kept-alive connection stays open (75)
  WEB_GRACEFUL_TIMEOUT  seconds a stopping worker gets to finish its requests (30)
  WEB_MAX_RSS_MIB       a worker above this much memory is replaced gracefully (400; 0: never)
  WEB_MAX_LIFETIME      seconds after which a worker is replaced gracefully (0: never)
  PROMETHEUS_MULTIPROC_DIR  the workers' metric files (a new temporary directory if unset)
  MALLOC_ARENA_MAX      glibc's malloc arenas a worker may have (2, see malloc_arenas)
  MALLOC_MMAP_THRESHOLD_  glibc's size (bytes) from which an allocation is mapped apart (262144)
  LOG_LEVEL, LOG_FORMAT as for the app

Nothing of Django is imported here: the workers are forked from this process, and each loads
the app itself (settings, database connections and threads are per worker).
"""

from __future__ import annotations

import ctypes
import glob
import os
import tempfile
from typing import Any

from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server
from granian.server.common import AbstractServer

APP = "reviewapp.wsgi:application"
MALLOC_ARENAS = 2
MALLOC_MMAP_THRESHOLD = 256 * 1024
# mallopt's parameters (glibc's malloc.h): the most arenas a process may have; the size from
# which an allocation gets pages of its own, given back to the system when it is freed.
_M_ARENA_MAX, _M_MMAP_THRESHOLD = -8, -3
# Settings of the server gunicorn had; each has a WEB_ name now (the module docstring).
_RETIRED = (
    "GUNICORN_BIND",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_GRACEFUL_TIMEOUT",
)


class ConfigurationError(SystemExit):
    """A setting that cannot be used: the server does not start, and says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__(f"serve.py: {message}")


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bind(raw: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigurationError(f"WEB_LISTEN must be host:port, got {raw!r}")
    return host.strip("[]"), int(port)


def metrics_directory() -> str:
    """PROMETHEUS_MULTIPROC_DIR for the workers, emptied: a previous run's files would add its counts.

    Set before any worker imports prometheus_client (they are forked from here), so every
    worker counts in files there and /metrics, whichever worker answers, sums them all.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="reviewapp-metrics-")
    os.makedirs(directory, exist_ok=True)
    for stale in glob.glob(os.path.join(directory, "*.db")):
        os.remove(stale)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory


def malloc_arenas() -> str | None:
    """Let each worker's threads share two malloc arenas, unless MALLOC_ARENA_MAX says otherwise.

    glibc gives a thread that allocates an arena of its own, up to eight per core, and memory
    freed in one arena serves only the threads allocating from it: each of a worker's eight
    threads that took its turn at a 1,000-row batch kept that batch's high-water mark, and a
    worker reached 240 MiB. With two arenas (and BATCH_CONCURRENCY), ~190 MiB, with no change
    in throughput (bench/README.md). Returns the limit in force, None where the C library is
    not glibc (musl's and macOS's allocators have no arenas to limit).
    """
    return _mallopt("MALLOC_ARENA_MAX", _M_ARENA_MAX, MALLOC_ARENAS)


def malloc_mmap_threshold() -> str | None:
    """Give a batch's large arrays pages of their own, unless MALLOC_MMAP_THRESHOLD_ says otherwise.

    glibc maps an allocation of 128 KiB or more by itself and unmaps it when freed, but raises
    that threshold to the size of each such block freed, up to 32 MiB: after the first batch, a
    batch's arrays (a few hundred KiB to a few MiB each) came from the arenas and their freed
    space stayed in the worker. A fixed threshold keeps them mapped apart: eight batch clients
    left workers at 180-187 MiB instead of 193-199 (bench/README.md). Returns the threshold in
    force, None where the C library is not glibc.
    """
    return _mallopt("MALLOC_MMAP_THRESHOLD_", _M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)


def _mallopt(variable: str, parameter: int, value: int) -> str | None:
    """Set a glibc malloc parameter in this process unless the operator's environment did.

    glibc reads its MALLOC_ variables only as a process starts, so the master sets the value
    itself before it forks the workers, and exports the variable for processes started afresh.
    """
    if given := os.environ.get(variable):
        return given  # the operator's, which glibc read as this process started
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:
        return None
    if mallopt(parameter, value) != 1:
        return None
    os.environ[variable] = str(value)
    return os.environ[variable]


def _log_config(level: str) -> dict[str, Any] | None:
    debug = os.environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    if os.environ.get("LOG_FORMAT", "text" if debug else "json") != "json":
        return None
    # granian's own lines (start, workers spawned and stopped) as JSON too, so every line parses.
    return {
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.orjson.OrjsonFormatter",
                "fmt": ["levelname", "name", "message", "process"],
                "timestamp": "time",
                "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {"_granian": {"handlers": ["console"], "level": level.upper(), "propagate": False}},
    }


def server() -> AbstractServer[Any]:
    """The server as the environment configures it, not yet serving."""
    retired = [name for name in _RETIRED if name in os.environ]
    if retired:
        raise ConfigurationError(
            f"{', '.join(retired)} no longer read: the web server is granian, set WEB_LISTEN, "
            "WEB_THREADS, WEB_KEEPALIVE or WEB_GRACEFUL_TIMEOUT instead (README, Settings)"
        )
    host, port = _bind(os.environ.get("WEB_LISTEN", "0.0.0.0:8000"))
    threads = _int("WEB_THREADS", 8, minimum=1)
    level = os.environ.get("LOG_LEVEL", "info").lower()
    if level not in LogLevels.__members__:
        raise ConfigurationError(
            f"LOG_LEVEL must be one of {', '.join(LogLevels.__members__)}, got {level!r}"
        )
    max_rss = _int("WEB_MAX_RSS_MIB", 400)
    lifetime = _int("WEB_MAX_LIFETIME", 0)
    if lifetime and lifetime < 60:
        raise ConfigurationError(f"WEB_MAX_LIFETIME must be 0 or at least 60 seconds, got {lifetime}")
    return Server(
        APP,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        websockets=False,
        workers=_int("WEB_CONCURRENCY", len(os.sched_getaffinity(0)), minimum=1),
        # Eight, not two: single predictions scored at the same time in one worker are
        # committed by one statement (group commit, predictions/persistence.py), and two
        # threads make groups of two at most. Each thread keeps its own database connection:
        # count threads x workers x pods against PostgreSQL's max_connections.
        blocking_threads=threads,
        # How long an idle kept-alive connection stays open (granian: the wait for the next
        # request's headers). It must outlast the idle timeout of whatever keeps connections to
        # us open (a load balancer, an ingress, a mesh's sidecar): if we close first, the
        # balancer may send its next request on a connection being closed and answer 502.
        # 75 s is above the common 60 s (AWS ALB, nginx ingress); behind Google Cloud's load
        # balancer (600 s) or Envoy (1 h) set more. It also drops a client that opens a
        # connection and sends no headers. (granian's command line caps it at 60 s; its API,
        # used here, does not.)
        http1_settings=HTTP1Settings(header_read_timeout=_int("WEB_KEEPALIVE", 75, minimum=1) * 1000),
        workers_kill_timeout=_int("WEB_GRACEFUL_TIMEOUT", 30, minimum=1),
        # A worker that dies unexpectedly is replaced; one that grows past the limit or lives
        # past its lifetime is replaced gracefully, its requests finished first.
        respawn_failed_workers=True,
        workers_max_rss=max_rss or None,
        workers_lifetime=lifetime or None,
        log_level=LogLevels(level),
        log_dictconfig=_log_config(level),
        # The app logs one JSON access line per request itself (route, request ID, caller).
        log_access=False,
    )


def main() -> None:
    web = server()
    metrics_directory()
    malloc_arenas()
    malloc_mmap_threshold()
    web.serve()


if __name__ == "__main__":
    main()
