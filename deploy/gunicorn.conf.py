"""gunicorn settings for reviewapp (`gunicorn --config deploy/gunicorn.conf.py`).

Metrics across workers: each worker process keeps its counters in files under
PROMETHEUS_MULTIPROC_DIR, and /metrics sums every file (prometheus_client's multiprocess
mode). The directory must be set before a worker imports prometheus_client, so it is settled
here, in the master: the operator's directory, else a fresh temporary one. The master empties
it at start (stale files would add a previous run's counts) and tells prometheus_client when a
worker exits. Give each gunicorn its own directory.
"""

import glob
import os
import tempfile

from gunicorn.glogging import Logger

wsgi_app = "reviewapp.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# gthread, not sync: a sync worker does not heartbeat while it writes a response, so a long
# streamed export (a million audit rows take minutes) would be killed at `timeout`.
worker_class = "gthread"
# Eight, not two: single predictions scored at the same time in one worker are committed by one
# statement (group commit, predictions/persistence.py), and two threads make groups of two at
# most. With eight, PostgreSQL's CPU per prediction fell by about a quarter (bench/README.md).
# Each thread keeps its own database connection: count threads x workers x pods against
# PostgreSQL's max_connections.
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
preload_app = False
# A listening socket per worker, so the kernel spreads connections evenly over the workers.
# With one shared socket, kept-alive connections pile onto whichever worker accepts first:
# under load one worker held 16 of 16 connections and took 92 % of the requests, one core's
# worth, while the other idled. The cost: connections still queued on a worker's socket
# when that worker exits are reset, so clients retry them (as they must any dropped connection).
reuse_port = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# How long an idle kept-alive connection stays open. It must outlast the idle timeout of
# whatever keeps connections to us open (a load balancer, an ingress, a mesh's sidecar): if
# gunicorn closes first (its default is 2 s), the balancer may send the next request on a
# connection gunicorn is closing and answer 502, and a client that polls every 2 s on one
# session sees "Connection aborted". 75 s is above the common 60 s (AWS ALB, nginx ingress);
# behind Google Cloud's HTTP(S) load balancer (600 s) or Envoy (1 h) set more. The cost is
# small: a gthread worker parks an idle connection in its poller, not in a thread (a thread is
# held only while a request is read and answered), so idle connections take a file descriptor
# and a slot of `worker_connections` (1,000 per worker) each. Once a worker holds that many
# minus its threads, it answers with "Connection: close" instead of keeping more. A connection
# that never sends a request is dropped after this long too. On shutdown gunicorn gives kept-
# alive connections 2 s, not this, so a long keep-alive does not slow a rolling deploy.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# The app logs one JSON access line per request itself (with route, request ID and caller).
accesslog = None


class _AppWritesAccessLines(Logger):
    # With logconfig_dict set, gunicorn builds every request's access-log atoms even though
    # no handler prints them: ~0.07 ms of a scoring request's CPU.
    def access(self, resp, req, environ, request_time) -> None:
        pass


logger_class = _AppWritesAccessLines
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="reviewapp-metrics-")

_debug = os.environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
if os.environ.get("LOG_FORMAT", "text" if _debug else "json") == "json":
    # gunicorn's own lines (boot, worker exits) as JSON too, so every line of output parses.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.orjson.OrjsonFormatter",
                "fmt": ["levelname", "name", "message", "process"],
                "timestamp": "time",
                "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False}
        },
    }


def on_starting(server) -> None:
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for stale in glob.glob(os.path.join(directory, "*.db")):
        os.remove(stale)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
