"""A model version's life after training: shadowing live traffic, and changes that need a second admin."""

from django.db import models
from django.db.models import Q

from predictions.models import ModelVersion, Prediction


class ShadowPeriod(models.Model):
    """A time during which a staged version scored every live prediction beside the active one."""

    class EndReason(models.TextChoices):
        PROMOTED = "promoted", "Activated"
        REPLACED = "replaced", "Another version took its place"
        STOPPED = "stopped", "Stopped by an admin"
        ACTIVE_CHANGED = "active_changed", "Another version was activated"

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="shadow_periods")
    active_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The active version it was compared with",
    )
    started_at = models.DateTimeField()
    started_by = models.CharField(max_length=200)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=200, blank=True)
    end_reason = models.CharField(max_length=14, choices=EndReason.choices, blank=True)
    # Every prediction of the period made before this was tried by the sweep (scored, or said
    # to be unreadable by the challenger): the next sweep starts here, not at started_at.
    swept_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # One challenger at a time.
            models.UniqueConstraint(
                fields=["ended_at"], condition=Q(ended_at__isnull=True), name="one_open_shadow_period"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.model_version.version} shadowing from {self.started_at:%Y-%m-%d %H:%M}"


class ShadowScore(models.Model):
    """What a challenger said of a live prediction: its score, label, routing and explanation."""

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="shadow_scores")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="shadow_scores")
    score = models.FloatField(help_text="Fraud probability by the challenger")
    label = models.CharField(max_length=5, choices=Prediction.Label.choices)
    confidence = models.FloatField()
    routing = models.CharField(
        max_length=6, choices=Prediction.Routing.choices, help_text="Where it would have sent the prediction"
    )
    review_reason = models.CharField(  # noqa: DJ001  null: nobody would have reviewed it, as on Prediction
        max_length=17, choices=Prediction.ReviewReason.choices, null=True, blank=True
    )
    reason_codes = models.JSONField(default=list)
    base_value = models.FloatField(help_text="SHAP base value (log-odds)")
    shap_values = models.JSONField(help_text="Feature name to SHAP value (log-odds)")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "prediction"], name="one_shadow_score_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.model_version.version} on {self.prediction_id}"


class ChangeProposal(models.Model):
    """A change to what scores live traffic, waiting for a second admin (REQUIRE_SECOND_APPROVER)."""

    class Kind(models.TextChoices):
        ACTIVATE = "activate", "Activate a version"
        THRESHOLD = "threshold", "Change a review threshold"
        AUDIT_SAMPLE_RATE = "audit_sample_rate", "Change an audit sample rate"

    class Status(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        REJECTED = "rejected"
        STALE = "stale", "Refused: what it would change changed since it was proposed"
        WITHDRAWN = "withdrawn"

    kind = models.CharField(max_length=17, choices=Kind.choices)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="change_proposals")
    value = models.JSONField(
        null=True, blank=True, help_text="The new threshold or rate; null for an activation"
    )
    before = models.JSONField(
        help_text="What it changes, as it was when proposed (a stale proposal is refused)"
    )
    force = models.BooleanField(default=False, help_text="Activate despite the promotion gate")
    reason = models.TextField(blank=True)
    gate = models.JSONField(null=True, blank=True, help_text="The promotion gate's findings when proposed")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.CharField(max_length=200)
    proposed_by_user_id = models.IntegerField(null=True, blank=True)
    proposed_at = models.DateTimeField()
    decided_by = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        indexes = [models.Index(fields=["status", "proposed_at"], name="change_proposal_status")]

    def __str__(self) -> str:
        return f"{self.kind} v{self.model_version.version} ({self.status})"
