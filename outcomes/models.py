from django.db import models

from predictions.models import ApiKey, Prediction


class Outcome(models.Model):
    """What upstream learned later about a prediction's transaction: the ground truth.

    A prediction may have several (a customer confirmation, then a chargeback); its effective
    outcome is the latest by `occurred_at`. An outcome is identified by its prediction, source
    and reference, so a repeat report stores nothing new.
    """

    class Source(models.TextChoices):
        CHARGEBACK = "chargeback"
        FRAUD_REPORT = "fraud_report"
        CUSTOMER_CONFIRMED = "customer_confirmed"
        INVESTIGATION = "investigation"
        OTHER = "other"

    prediction = models.ForeignKey(Prediction, on_delete=models.PROTECT, related_name="outcomes")
    label = models.CharField(max_length=5, choices=Prediction.Label.choices)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.OTHER)
    reference = models.CharField(
        max_length=128, blank=True, help_text="Upstream's own ID for it, e.g. the dispute's"
    )
    occurred_at = models.DateTimeField(help_text="When it happened upstream (never in the future)")
    received_at = models.DateTimeField(auto_now_add=True)
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Who reported it"
    )
    reported_by = models.CharField(max_length=200, help_text="The actor, as the audit log names it")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prediction", "source", "reference"], name="outcome_identity"),
        ]
        indexes = [
            # The effective outcome: the latest per prediction.
            models.Index(fields=["prediction", "-occurred_at", "-id"], name="outcome_latest"),
            models.Index(fields=["occurred_at"], name="outcome_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.source}) for {self.prediction_id}"
