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
    amount = models.FloatField(null=True, blank=True, help_text="Copied from the features for queue filters")
    blind = models.BooleanField(
        default=False,
        help_text="The model's label, score and explanation are hidden from the analyst until decided",
    )
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


class Decision(models.Model):
    """An analyst's verdict on a review item. Written once; never edited."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed"
        OVERRIDDEN = "overridden"

    class Reason(models.TextChoices):
        KNOWN_CUSTOMER_BEHAVIOUR = "known_customer_behaviour", "Known customer behaviour"
        CONFIRMED_WITH_CARDHOLDER = "confirmed_with_cardholder", "Confirmed with cardholder"
        DATA_ERROR = "data_error", "Data error"
        PATTERN_MODEL_MISSED = "pattern_model_missed", "Pattern the model missed"
        OTHER = "other", "Other"

    review_item = models.OneToOneField(ReviewItem, on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    final_label = models.CharField(max_length=5, choices=Prediction.Label.choices)
    reason = models.CharField(max_length=30, choices=Reason.choices, blank=True)
    note = models.TextField(blank=True, max_length=2000)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewer_name = models.CharField(max_length=150, help_text="Copied so the record outlives renames")
    seen_digest = models.CharField(max_length=64, help_text="Digest of what the reviewer was shown")
    blind = models.BooleanField(
        default=False,
        help_text=(
            "Decided without seeing the model's verdict: the reviewer gave a label, and the outcome "
            "says whether it agreed with the model's"
        ),
    )
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            # A blind reviewer cannot know they override the model, so cannot be asked why.
            models.CheckConstraint(
                condition=Q(outcome="confirmed") | ~Q(reason="") | Q(blind=True),
                name="override_needs_reason",
            ),
        ]
        indexes = [
            # Audit search by reviewer: one who decided little, or left long ago, is found
            # from here instead of by walking every prediction back in time.
            models.Index(fields=["reviewer_name"], name="decision_reviewer_name"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} by {self.reviewer_name}"


class CallbackDelivery(models.Model):
    """The outbox of decisions to tell upstream: one per decided prediction with a callback URL."""

    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        DEAD = "dead"

    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="callback")
    api_key = models.ForeignKey("predictions.ApiKey", on_delete=models.PROTECT, related_name="+")
    url = models.URLField()
    payload = models.JSONField()
    state = models.CharField(max_length=9, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "callback deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="callback_due"),
        ]

    def __str__(self) -> str:
        return f"callback {self.pk} to {self.url} ({self.state})"


class CallbackAttempt(models.Model):
    delivery = models.ForeignKey(CallbackDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["attempted_at"]

    def __str__(self) -> str:
        return f"attempt at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
