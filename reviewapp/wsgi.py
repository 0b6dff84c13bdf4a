"""The WSGI application, and what every web process sets up around it.

Two things depend on how gunicorn was started, so they are settled here rather than left to
deploy/gunicorn.conf.py, which an operator may not pass: the metrics directory its workers
share, and where each web process's own threads start (in the worker, never in a master that
forks workers after loading the app with --preload).
"""

import logging
import os
import sys
import tempfile
from types import FrameType


def _gunicorn_master_pid() -> int | None:
    """The pid of the gunicorn master this process belongs to (itself, if it is the master);
    None outside gunicorn (runserver, tests, another server).

    gunicorn's master marks the environment (SERVER_SOFTWARE) for itself and its workers. A
    worker imports this module from its Worker object, which knows the master as `ppid`; with
    --preload the master imports it itself, before forking the workers.
    """
    if not os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
        return None
    from gunicorn.workers.base import Worker  # type: ignore[import-untyped]

    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, Worker):
            return int(candidate.ppid)
        frame = frame.f_back
    return os.getpid()


def _process_start(pid: int) -> str:
    # Its start time (clock ticks since boot), so a pid used again later names another directory.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return "0"


def _metrics_directory_for(master: int) -> str | None:
    """Give gunicorn's workers one shared metrics directory when nobody else did.

    Each worker counts its requests in memory unless PROMETHEUS_MULTIPROC_DIR names a directory
    when prometheus_client is first imported; then /metrics, answered by any one worker, would
    report that worker's share alone. deploy/gunicorn.conf.py sets it in the master; started
    without it (`gunicorn -w 4 reviewapp.wsgi:application`) the workers come here first, before
    Django or prometheus_client is imported, and agree on a directory named after their master
    (pid and start time), so workers of one gunicorn share it and two gunicorns never do. Unlike
    the conf's, nobody empties it at start or removes dead workers' live gauges (the project has
    none); it is new at each start, in the temporary directory.

    Should prometheus_client be imported before this runs, nothing can fix it: /metrics then
    refuses to answer (reviewapp.metrics.exposition_problem) rather than report wrong figures.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") or "prometheus_client.values" in sys.modules:
        return None
    directory = os.path.join(tempfile.gettempdir(), f"reviewapp-metrics-{master}-{_process_start(master)}")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory


_master = _gunicorn_master_pid()
_metrics_directory = None if _master is None else _metrics_directory_for(_master)

from django.core.wsgi import get_wsgi_application  # noqa: E402  (after the metrics directory)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
application = get_wsgi_application()

if _metrics_directory is not None:
    logging.getLogger(__name__).warning(
        "gunicorn was started without deploy/gunicorn.conf.py: metrics of its workers are summed "
        "in %s, which nobody empties; prefer --config deploy/gunicorn.conf.py",
        _metrics_directory,
    )

# Apps start what each web process runs beside its requests (the monitoring app: its latency
# recorder thread). Only here: Celery workers and management commands never load this module.
from reviewapp.signals import web_process_started  # noqa: E402  (needs the apps loaded above)


def _web_process_started() -> None:
    web_process_started.send(sender=None)


if _master == os.getpid():
    # A gunicorn master loading the app before it forks (--preload). A thread started here
    # could hold a lock at the fork (an import's: seen to hang a worker's first /metrics for
    # good), and the worker would wait on it forever; each worker starts its own instead.
    os.register_at_fork(after_in_child=_web_process_started)
else:
    _web_process_started()
