from django.db import models
from django.db.models import Q


class AuditEvent(models.Model):
    """One state change of the system. Append-only; hash-chained shortly after it is written.

    A writer inserts the event in the same transaction as the change it records. A single
    linker (`audit_chain_extend`, every few seconds) then gives each new event its place in
    the chain: its hash covers the previous event's hash and its own canonical content, so
    editing, inserting or deleting a linked row breaks the chain from that row on. Linking
    apart from writing keeps the one global lock off the scoring hot path.
    """

    class Action(models.TextChoices):
        PREDICTION_CREATED = "prediction.created"
        PREDICTION_ROUTED = "prediction.routed"
        REVIEW_CLAIMED = "review.claimed"
        REVIEW_RELEASED = "review.released"
        REVIEW_LEASE_EXPIRED = "review.lease_expired"
        REVIEW_DECIDED = "review.decided"
        CALLBACK_DELIVERED = "callback.delivered"
        CALLBACK_DEAD = "callback.dead"
        CALLBACK_REPLAYED = "callback.replayed"
        MODEL_REGISTERED = "model.registered"
        MODEL_ACTIVATED = "model.activated"
        MODEL_ROLLED_BACK = "model.rolled_back"
        MODEL_THRESHOLD_CHANGED = "model.threshold_changed"
        MODEL_AUDIT_SAMPLE_RATE_CHANGED = "model.audit_sample_rate_changed"
        MODEL_SHADOW_STARTED = "model.shadow_started"
        MODEL_SHADOW_STOPPED = "model.shadow_stopped"
        MODEL_PROMOTION_REFUSED = "model.promotion_refused"
        MODEL_PROMOTION_FORCED = "model.promotion_forced"
        CHANGE_PROPOSED = "change.proposed"
        CHANGE_APPROVED = "change.approved"
        CHANGE_REJECTED = "change.rejected"
        CHANGE_REFUSED = "change.refused"
        API_KEY_CREATED = "api_key.created"
        API_KEY_ROTATED = "api_key.rotated"
        API_KEY_REVOKED = "api_key.revoked"
        API_KEY_CHANGED = "api_key.changed"
        USER_ROLE_CHANGED = "user.role_changed"
        LOGIN_LOCKED_OUT = "user.login_locked_out"
        OPERATIONS_SWITCHED = "operations.switched"
        OUTCOME_RECORDED = "outcome.recorded"

    created_at = models.DateTimeField(editable=False, db_index=True)
    action = models.CharField(max_length=40, choices=Action.choices, editable=False)
    actor = models.CharField(
        max_length=200, editable=False, help_text="Who: user:NAME, api_key:NAME, system:TASK"
    )
    request_id = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    object_type = models.CharField(max_length=50, editable=False)
    object_id = models.CharField(max_length=64, editable=False)
    before = models.JSONField(null=True, editable=False)
    after = models.JSONField(null=True, editable=False)
    seq = models.PositiveBigIntegerField(
        unique=True, null=True, editable=False, help_text="Position in the chain; empty until linked"
    )
    # NULL, not "", until linked: many unlinked rows must fit under the unique index.
    prev_hash = models.CharField(max_length=64, null=True, editable=False)  # noqa: DJ001
    hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001

    class Meta:
        # The table predates this app (it began in `reviews`); its name is kept, and with it
        # the append-only triggers and every index.
        db_table = "reviews_auditevent"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object"),
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="audit_event_unlinked"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"
