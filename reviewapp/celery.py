"""The Celery app. Delivery settings favour "never lose a routing" over throughput."""

from __future__ import annotations

import gc
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from celery import Celery, signals
from celery.schedules import crontab
from django.conf import settings
from django.db import close_old_connections

from reviewapp.schedules import crontab_from

if TYPE_CHECKING:
    from celery.app.task import Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")

app = Celery("reviewapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    # A task is acknowledged only once it finished, and redelivered if its worker died.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Publishing must not hold an API request hostage when the broker is down:
    # the routing outbox and its sweeper cover what could not be sent.
    task_publish_retry=False,
    broker_connection_timeout=2,
    broker_transport_options={
        # Longer than any task's hard time limit, so a slow task is never delivered twice.
        "visibility_timeout": int(app.conf.get("broker_visibility_timeout") or 600),
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        # Fail a publish on the first refused connection. Without this kombu keeps retrying
        # until broker_connection_timeout, so with Redis down every request that routes to
        # review took 2 s. The worker's own reconnects follow broker_connection_max_retries.
        "max_retries": 0,
    },
    broker_connection_retry_on_startup=True,
    task_eager_propagates=False,
    worker_hijack_root_logger=False,
    beat_schedule={
        "sweep-routing": {
            "task": "predictions.tasks.routing_sweep",
            "schedule": crontab(minute="*"),
        },
        # Predictions a challenger has not scored yet (broker down, worker died): lifecycle.
        "shadow-sweep": {
            "task": "lifecycle.tasks.shadow_sweep",
            "schedule": crontab(minute="*"),
        },
        "enqueue-due-callbacks": {
            "task": "reviews.tasks.callbacks_enqueue_due",
            "schedule": crontab(minute="*"),
        },
        # Seconds matter here (an event is unlinked until it runs), so not a crontab.
        "audit-chain-extend": {
            "task": "audit.tasks.audit_chain_extend",
            "schedule": timedelta(seconds=5),
        },
        # Every few seconds, so scoring's inserts never fill the pending list (predictions/models.py).
        "flush-reason-codes-index": {
            "task": "predictions.tasks.reason_codes_index_flush",
            "schedule": timedelta(seconds=5),
        },
        "expire-review-leases": {
            "task": "reviews.tasks.review_leases_expire",
            "schedule": crontab(minute="*"),
        },
        "compute-drift": {
            "task": "monitoring.tasks.drift_report_create",
            "schedule": crontab(minute="*/15"),
        },
        "worker-heartbeat": {
            "task": "monitoring.tasks.worker_heartbeat_record",
            "schedule": crontab(minute="*"),
        },
        # The web servers record latency themselves (monitoring/recorder.py): a worker cannot
        # read their histograms. Beat only keeps the table to its retention.
        "prune-latency-snapshots": {
            "task": "monitoring.tasks.latency_snapshots_prune",
            "schedule": crontab(minute="7"),
        },
    },
)
# Celery's Django fix-up closes a worker's database connection around every task, so each
# routing task paid for a new PostgreSQL connection (more than the task's own work). Keep it
# for up to DB_REUSE_MAX tasks and treat each task as Django treats a request: drop the
# connection when it is too old (CONN_MAX_AGE) or broken, and health-check it before reuse.
app.conf.CELERY_DB_REUSE_MAX = 1000


def retrain_beat_schedule(schedule: str) -> dict[str, dict[str, Any]]:
    """Beat's entry for retraining from outcomes (docs/lifecycle.md) when RETRAIN_SCHEDULE is set."""
    if not schedule.strip():
        return {}
    return {
        "retrain-from-outcomes": {
            "task": "lifecycle.tasks.model_retrain",
            "schedule": crontab_from("RETRAIN_SCHEDULE", schedule),
        }
    }


app.conf.beat_schedule.update(retrain_beat_schedule(settings.RETRAIN_SCHEDULE))


# The challenger's work (lifecycle: scoring every live prediction again, backfills) has a queue
# of its own beside the default one, "<queue>.shadow": a worker takes from its queues in turn,
# so a backlog of shadow scoring never holds routing into the review queue behind it. Every
# worker consumes both; `--queues=<queue>.shadow` makes one that only shadows.
SHADOW_TASK_PREFIX = "lifecycle.tasks.shadow_"


def shadow_queue(default_queue: str) -> str:
    return f"{default_queue}.shadow"


def _shadow_route(name: str, *args: Any, **kwargs: Any) -> dict[str, str] | None:
    # Read at each send: tests point the default queue at a queue of their own.
    if name.startswith(SHADOW_TASK_PREFIX):
        return {"queue": shadow_queue(app.conf.task_default_queue)}
    return None


app.conf.task_routes = (_shadow_route,)


@signals.celeryd_after_setup.connect
def _consume_the_shadow_queue(sender: str, instance: Any, **kwargs: Any) -> None:
    instance.app.amqp.queues.select_add(shadow_queue(instance.app.conf.task_default_queue))


@signals.worker_process_init.connect
def _freeze_what_was_loaded(**kwargs: Any) -> None:
    # As each web process does (reviewapp/wsgi.py), in each pool process once forked: the
    # collector's full passes stop walking the ~120,000 objects Django and the apps loaded.
    # The linker's CPU a row fell 12 % (bench/README.md); the routing tasks allocate alike.
    gc.freeze()


@signals.task_prerun.connect
def _database_connections_as_per_request(task: Task | None = None, **kwargs: Any) -> None:
    # An eager task runs inside its caller's request or transaction: leave that connection be.
    if task is not None and not task.request.is_eager:
        close_old_connections()


app.autodiscover_tasks()
