from django.db import models
from django.db.models import Q

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


class OperationalSettings(models.Model):
    """Switches an operator flips at run time, without a deploy. One row (pk 1)."""

    review_all_predictions = models.BooleanField(
        "Send every prediction to review",
        default=False,
        help_text=(
            "Pauses automatic decisions: every new prediction goes to the review queue whatever "
            "its confidence. REVIEW_ALL_PREDICTIONS=1 in the environment keeps this on regardless."
        ),
    )
    changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    changed_by = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "operational switches"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="operational_settings_singleton")]

    def __str__(self) -> str:
        return "Operational switches"
