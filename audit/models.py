from django.db import models
from django.db.models.functions import Now


class AuditEvent(models.Model):
    """One state change of the system. Append-only; hash-chained shortly after it is written.

    A writer inserts the event, and queues it for linking (AuditPending), in the same
    transaction as the change it records. A single linker (`audit_chain_extend`, every few
    seconds) then gives it its place in the chain (an AuditLink). Linking apart from writing
    keeps the one global lock off the scoring hot path. A prediction is its own `created`
    event: its row is linked the same way (audit/sources.py), with no event row written.
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

    class Meta:
        # The table predates this app (it began in `reviews`); its name is kept, and with it
        # the append-only triggers and every index.
        db_table = "reviews_auditevent"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class AuditLink(models.Model):
    """A place in the hash chain: which row it covers, and the hashes that tie it to the rest.

    Its hash is SHA-256 over the previous link's hash and the covered row's canonical content
    with this position (audit/chain.py), so editing, inserting or deleting a linked row, or a
    link, breaks the chain from there on. Links are only ever appended: an event or prediction
    row is written once and never rewritten to be linked, which kept every event's index
    entries twice (bench/README.md).
    """

    seq = models.BigIntegerField(primary_key=True, editable=False, help_text="Position in the chain, from 1")
    source = models.CharField(max_length=20, editable=False, help_text="What kind of row: event, prediction")
    object_id = models.BigIntegerField(editable=False, help_text="The covered row's primary key")
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        db_table = "audit_link"
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["source", "object_id"], name="audit_link_once")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.source}:{self.object_id}"


class AuditPending(models.Model):
    """A row written but not linked yet: the linker's queue, filled in the writer's transaction.

    The linker takes what is committed and deletes it as it links. A queue, rather than
    "rows without a link", because ids do not commit in order: a transaction can commit a
    lower id after a higher one was linked, and a queue entry becomes visible with its row.
    """

    source = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    # Set by the database, so the hot path's insert need not name it: how far behind the linker is.
    queued_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "audit_pending"

    def __str__(self) -> str:
        return f"{self.source}:{self.object_id}"
