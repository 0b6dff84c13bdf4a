from django.conf import settings
from django.db import models
from django.db.models import Q

from predictions.models import Prediction


class ReviewItem(models.Model):
    """A prediction waiting for, held by, or decided by a human analyst."""

    class State(models.TextChoices):
        PENDING = "pending"
        CLAIMED = "claimed"
        DECIDED = "decided"

    prediction = models.OneToOneField(Prediction, on_delete=models.PROTECT, related_name="review_item")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    priority = models.FloatField(help_text="Higher first: expected loss weighted by uncertainty")
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "created_at"]
        indexes = [
            # The queue: open items, highest priority first.
            models.Index(
                fields=["-priority", "created_at"],
                condition=~Q(state="decided"),
                name="review_item_open_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"review of {self.prediction_id} ({self.state})"
