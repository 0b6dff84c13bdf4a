from django.db import models
from django.db.models import Q

import predictions.models
from predictions.models import ModelVersion


class DriftState(models.TextChoices):
    OK = "ok"
    WARNING = "warning", "Warning (PSI ≥ PSI_WARNING)"
    ALERT = "alert", "Alert (PSI ≥ PSI_ALERT)"


class DriftReport(models.Model):
    """Live traffic of one model version over a window, compared with its training reference."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="drift_reports")
    window_start = models.DateTimeField(help_text="Oldest prediction considered")
    window_end = models.DateTimeField(help_text="Newest prediction considered")
    sample_size = models.PositiveIntegerField(help_text="Predictions compared")
    score_psi = models.FloatField(null=True, blank=True, help_text="PSI of the model's scores")
    score_state = models.CharField(max_length=7, choices=DriftState.choices, blank=True)
    not_compared = models.JSONField(
        default=list, help_text="Calendar features whose cycle is longer than the window"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"drift of v{self.model_version.version} at {self.created_at:%Y-%m-%d %H:%M}"


class FeatureDrift(models.Model):
    report = models.ForeignKey(DriftReport, on_delete=models.CASCADE, related_name="features")
    feature = models.CharField(max_length=100)
    psi = models.FloatField(help_text="Population stability index against the training reference")
    state = models.CharField(max_length=7, choices=DriftState.choices)

    class Meta:
        ordering = ["-psi"]
        constraints = [
            models.UniqueConstraint(fields=["report", "feature"], name="one_drift_row_per_feature"),
        ]

    def __str__(self) -> str:
        return f"{self.feature}: {self.psi:.3f} ({self.state})"


class OperationalSettings(predictions.models.OperationalSettings):
    """The admin's page for predictions' switches, kept at its address under monitoring.

    A proxy: no table or data of its own. Its content type is the one the switches had when
    they lived here, so admin permissions and history stay with the page.
    """

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "operational switches"


class WorkerHeartbeat(models.Model):
    """Written every minute by a task from Celery beat: beat, the broker and a worker all work.

    Its age is the liveness signal of the whole asynchronous path, with or without traffic.
    One row (pk 1).
    """

    seen_at = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True, help_text="The worker that ran it")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="worker_heartbeat_singleton")]

    def __str__(self) -> str:
        return f"heartbeat from {self.hostname or 'a worker'} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class LatencySnapshot(models.Model):
    """One web server's request-latency histograms as read at one minute.

    Cumulative since that server's processes started, like a Prometheus scrape; the page
    turns consecutive snapshots into per-interval counts and percentiles. Written once a
    minute by every web server (monitoring/recorder.py), deleted after LATENCY_RETENTION.
    """

    source = models.CharField(
        max_length=255, help_text="The web server: its host and its metrics directory or process"
    )
    taken_at = models.DateTimeField(db_index=True, help_text="The minute the histograms were read")
    requests = models.PositiveBigIntegerField(
        help_text="Requests counted in every series; lower than the previous snapshot's after a restart"
    )
    bounds = models.JSONField(default=list, help_text="Upper bounds of the buckets in seconds, +Inf left out")
    histograms = models.JSONField(
        default=dict,
        help_text='{"METHOD route": {"buckets": cumulative counts per bound then +Inf, "sum": seconds}}',
    )

    class Meta:
        constraints = [
            # Every process of a server tries each minute; the first one's row stands.
            models.UniqueConstraint(fields=["source", "taken_at"], name="one_latency_snapshot_per_minute"),
        ]

    def __str__(self) -> str:
        return f"latency of {self.source} at {self.taken_at:%Y-%m-%d %H:%M}"
