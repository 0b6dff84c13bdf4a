"""The WSGI application, and what every web process sets up around it.

serve.py (granian) gives its workers a metrics directory before it forks them. A granian
started without it (`granian --interface wsgi reviewapp.wsgi:application --workers 2`) does
not, so its workers settle one here, before anything imports prometheus_client.
"""

import gc
import logging
import multiprocessing
import os
import sys
import tempfile

# The name granian gives the processes it starts for its workers (granian/server/mp.py).
GRANIAN_WORKER = "granian-worker"


def _process_start(pid: int) -> str:
    # Its start time (clock ticks since boot), so a pid used again later names another directory.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return "0"


def _metrics_directory_for_workers() -> str | None:
    """Give a granian's workers one shared metrics directory when nobody else did.

    Each worker counts its requests in memory unless PROMETHEUS_MULTIPROC_DIR names a directory
    when prometheus_client is first imported; then /metrics, answered by any one worker, would
    report that worker's share alone. Started without serve.py, the workers come here first and
    agree on a directory named after their parent, the granian master (pid and start time), so
    workers of one server share it and two servers never do. Unlike serve.py's, nobody empties
    it at start; it is new at each start, in the temporary directory.

    Should prometheus_client be imported before this runs, nothing can fix it: /metrics then
    refuses to answer (reviewapp.metrics.exposition_problem) rather than report wrong figures.
    """
    if multiprocessing.current_process().name != GRANIAN_WORKER:
        return None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") or "prometheus_client.values" in sys.modules:
        return None
    master = os.getppid()
    directory = os.path.join(tempfile.gettempdir(), f"reviewapp-metrics-{master}-{_process_start(master)}")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory


_metrics_directory = _metrics_directory_for_workers()

from django.core.wsgi import get_wsgi_application  # noqa: E402  (after the metrics directory)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
django_application = get_wsgi_application()

# Scoring requests with an API key are answered in front of Django, the rest by Django itself
# (predictions/api/fast.py). Imported once Django is set up: it imports models.
from predictions.api.fast import ScoringFront  # noqa: E402

application = ScoringFront(django_application)

if _metrics_directory is not None:
    logging.getLogger(__name__).warning(
        "granian was started without serve.py: metrics of its workers are summed in %s, which "
        "nobody empties; prefer python serve.py",
        _metrics_directory,
    )

# Apps start what each web process runs beside its requests (the monitoring app: its latency
# recorder thread). Only here: Celery workers and management commands never load this module,
# and granian loads it in each worker, after the fork.
from reviewapp.signals import web_process_started  # noqa: E402  (needs the apps loaded above)

web_process_started.send(sender=None)

# What is loaded by now (Django, the apps, numpy and scikit-learn's modules) lives as long as the
# process. Frozen, the garbage collector's full passes stop walking those ~120,000 objects
# again and again: they took 15 % of a 1,000-row batch's web time, and freezing gave a batch
# 7-10 % less web CPU (bench/README.md). Raising the collector's thresholds instead gained
# nothing more and cost 90 MiB a worker.
gc.freeze()
