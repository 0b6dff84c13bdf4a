from __future__ import annotations

from typing import Any

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.base import ModelState

from reviewapp.rates import validate_rate


class ModelVersion(models.Model):
    """A trained, checksummed model artifact and everything needed to audit and monitor it."""

    class Status(models.TextChoices):
        STAGED = "staged"
        ACTIVE = "active"
        # The challenger: scores every live prediction off the hot path (lifecycle), never answers.
        SHADOW = "shadow"
        RETIRED = "retired"

    name = models.CharField(max_length=100, help_text="Model family, e.g. card-fraud")
    version = models.PositiveIntegerField(unique=True, help_text="Increasing version number")
    artifact_path = models.CharField(max_length=500, help_text="joblib file, relative to MODEL_ARTIFACT_DIR")
    sha256 = models.CharField(max_length=64, help_text="Checksum verified before every load")
    feature_schema = models.JSONField(help_text="List of {name, type, min, max, choices, description, unit}")
    reference = models.JSONField(
        default=dict, help_text="Training distributions of each feature and of the score"
    )
    metrics = models.JSONField(default=dict, help_text="Holdout metrics")
    library_versions = models.JSONField(default=dict)
    training_info = models.JSONField(default=dict, help_text="Data source, rows, seed, split")
    review_threshold = models.FloatField(
        help_text="Predictions with confidence below this go to human review"
    )
    audit_sample_rate = models.FloatField(
        default=0.01,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=(
            "Share of the automatic decisions also sent to blind review as an audit sample; "
            "0 turns the sample off"
        ),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STAGED)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="one_active_model_version",
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="shadow"),
                name="one_shadow_model_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.status})"


class ModelArtifact(models.Model):
    """A model version's artifact, kept in the database so that every process can load it.

    No volume is shared between migrate, web and worker processes: the bytes are written in the
    transaction that registers the version. Versions registered before this table existed keep
    their file under MODEL_ARTIFACT_DIR (`store_artifacts` copies it in). The checksum has one
    home, `ModelVersion.sha256`, and is verified before every load, whichever copy is read.
    A table of its own, so reading a version's row (every MODEL_REFRESH_SECONDS) never reads
    its megabytes.
    """

    model_version = models.OneToOneField(
        ModelVersion, primary_key=True, on_delete=models.CASCADE, related_name="artifact"
    )
    data = models.BinaryField(help_text="The joblib bundle, as written at registration")
    size = models.PositiveIntegerField(help_text="Bytes")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"artifact of {self.model_version} ({self.size} bytes)"


class ApiKey(models.Model):
    """A credential for an upstream system. Only a hash of the secret is kept."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part, shown in listings")
    key_hash = models.CharField(max_length=64, help_text="sha256 of the whole key")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this time the key is refused; empty for no expiry"
    )
    rate_limit = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text="Requests this key may make, e.g. 20000/min; empty for API_RATE_LIMIT",
    )
    callback_url = models.URLField(blank=True, help_text="Receives reviewed decisions as signed JSON POSTs")
    callback_secret = models.CharField(
        max_length=64, blank=True, help_text="HMAC-SHA256 key for callback signatures"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    # DRF treats request.user as a user-like object.
    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False


# The reason-code index's pending list, in kB. 1,000 predictions add about 190 kB to it, so this
# holds 80,000: 40 s at 2,000 a second, eight of beat's merges missed in a row.
REASON_CODES_PENDING_LIMIT_KB = 16 * 1024
REASON_CODES_INDEX = "prediction_reason_codes"


class Prediction(models.Model):
    """One scored transaction. Immutable once written, except for its routing, review and outcome."""

    class Label(models.TextChoices):
        FRAUD = "fraud"
        LEGIT = "legit"

    class Routing(models.TextChoices):
        AUTO = "auto"
        REVIEW = "review"

    class Status(models.TextChoices):
        DECIDED = "decided"
        PENDING_REVIEW = "pending_review"
        REVIEWED = "reviewed"

    class ReviewReason(models.TextChoices):
        LOW_CONFIDENCE = "low_confidence", "Confidence below the threshold"
        AUDIT_SAMPLE = "audit_sample", "Random audit sample of the automatic decisions"
        REVIEW_EVERYTHING = "review_everything", "Every prediction sent to review (switch)"

    class RoutingState(models.TextChoices):
        NOT_NEEDED = "not_needed", "Decided automatically"
        PENDING = "pending", "Waiting for the routing task"
        DONE = "done", "Review item created"

    request_id = models.CharField(max_length=64, unique=True)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.PROTECT)
    # NULL when an API key asked, which names its caller itself (and costs a row nothing).
    scored_by = models.CharField(  # noqa: DJ001
        max_length=200,
        null=True,
        blank=True,
        help_text="Who asked for the score, when no API key did: an admin from the API docs page",
    )
    # No index of its own: prediction_version_created (model_version, created_at) serves it.
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions", db_index=False
    )
    features = models.JSONField()
    features_digest = models.CharField(max_length=64, help_text="sha256 of the canonical features")
    score = models.FloatField(help_text="Fraud probability")
    label = models.CharField(max_length=5, choices=Label.choices)
    confidence = models.FloatField(help_text="max(score, 1 - score)")
    routing = models.CharField(max_length=6, choices=Routing.choices)
    status = models.CharField(max_length=14, choices=Status.choices)
    final_label = models.CharField(max_length=5, choices=Label.choices, blank=True)
    reason_codes = models.JSONField(default=list)
    routing_state = models.CharField(max_length=10, choices=RoutingState.choices)
    routing_enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time the routing task was sent for this prediction"
    )
    routed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.CharField(  # noqa: DJ001  null is "nobody reviews it", as the API says
        max_length=17,
        choices=ReviewReason.choices,
        null=True,
        blank=True,
        help_text="Why a person sees it; null if nobody does",
    )
    inclusion_probability = models.FloatField(
        null=True,
        blank=True,
        help_text="The probability with which it was sent to review (1, or the audit sample rate)",
    )
    # No index of its own: prediction_quality_volume's key is created_at (so is every index below).
    created_at = models.DateTimeField(auto_now_add=True)
    # The effective outcome (outcomes app): the latest by occurred_at of what upstream reported,
    # kept here so the audit search and the scorecard filter on it without a join.
    # Null, not empty, while there is none: SQLite adds a nullable column in place, where a
    # NOT NULL one would rebuild the table (and trip over its PostgreSQL-only GIN index).
    outcome_label = models.CharField(max_length=5, choices=Label.choices, null=True, blank=True)  # noqa: DJ001
    outcome_source = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    outcome_occurred_at = models.DateTimeField(null=True, blank=True)
    outcome_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweeper's scan: only the few predictions still waiting for routing.
            models.Index(
                fields=["routing_enqueued_at"],
                condition=Q(routing_state="pending"),
                name="prediction_routing_pending",
            ),
            # Audit search (figures in bench/README.md). A version's predictions in time order;
            # also its first and last prediction, found without reading its rows.
            models.Index(fields=["model_version", "created_at"], name="prediction_version_created"),
            # The scorecard and the what-if (outcomes/quality.py; figures in bench/README.md):
            # each of their queries reads one of these three and nothing else of the table, so
            # a 90-day window of 1,000,000 predictions is read in tenths of a second instead of
            # seconds. Their columns are copies (INCLUDE, PostgreSQL only; elsewhere plain
            # indexes on created_at). Every prediction, for volumes and the what-if's buckets:
            models.Index(
                fields=["created_at"],
                include=["model_version", "confidence", "label", "outcome_label"],
                name="prediction_quality_volume",
            ),
            # those with an outcome (this also serves "has an outcome" searches by time),
            models.Index(
                fields=["created_at"],
                include=[
                    "model_version",
                    "score",
                    "confidence",
                    "label",
                    "final_label",
                    "status",
                    "review_reason",
                    "outcome_label",
                    "outcome_occurred_at",
                    "outcome_received_at",
                ],
                condition=Q(outcome_label__isnull=False),
                name="prediction_quality_labelled",
            ),
            # and those a person reviews, joined to their decisions.
            models.Index(
                fields=["created_at"],
                include=[
                    "id",
                    "model_version",
                    "label",
                    "review_reason",
                    "inclusion_probability",
                    "outcome_label",
                ],
                condition=Q(review_reason__isnull=False),
                name="prediction_quality_reviewed",
            ),
            # Sorting by score, ties by id, as the search pages do.
            models.Index(fields=["score", "id"], name="prediction_score_id"),
            # "Feature X among the top reasons": jsonb containment (@>). PostgreSQL only. Inserts
            # append their entries to the index's pending list, and beat merges it every few
            # seconds (reason_codes_index_flush), many entries at once: inserting each
            # prediction's entries into the index itself cost PostgreSQL a third of its time
            # under batches (bench/README.md). The limit is far above a few seconds of entries,
            # so no insert on the scoring path pays for a merge unless beat has stopped.
            GinIndex(
                fields=["reason_codes"],
                opclasses=["jsonb_path_ops"],
                fastupdate=True,
                gin_pending_list_limit=REASON_CODES_PENDING_LIMIT_KB,
                name=REASON_CODES_INDEX,
            ),
        ]

    def __str__(self) -> str:
        return self.request_id

    @classmethod
    def scored(cls, *, api_key: ApiKey | None, model_version: ModelVersion, **values: Any) -> Prediction:
        """A new prediction as the scoring path builds it, not yet stored: every column in
        `values` but the keys and those that only fill in later (routed, outcome).

        Built without Model.__init__, whose walk over every field (and its init signals)
        cost ~9 us a prediction, a tenth of a 1,000-row batch's web time; this costs ~1.
        tests/predictions/test_models.py checks it against the constructor, field by field.
        """
        prediction = cls.__new__(cls)
        prediction._state = ModelState()
        prediction.__dict__.update(
            _FILLED_IN_LATER,
            api_key_id=api_key.pk if api_key is not None else None,
            model_version_id=model_version.pk,
            **values,
        )
        prediction._state.fields_cache.update(api_key=api_key, model_version=model_version)
        return prediction


# What a just-scored prediction does not have yet: a primary key, a routing time, an outcome.
_FILLED_IN_LATER: dict[str, Any] = {
    "id": None,
    "routed_at": None,
    "outcome_label": None,
    "outcome_source": None,
    "outcome_occurred_at": None,
    "outcome_received_at": None,
}


class Explanation(models.Model):
    """The SHAP explanation of one prediction, in the model's raw output (log-odds)."""

    prediction = models.OneToOneField(
        Prediction, on_delete=models.PROTECT, primary_key=True, related_name="explanation"
    )
    base_value = models.FloatField()
    values = models.JSONField(help_text="{feature: contribution}")
    output = models.CharField(max_length=20, default="log-odds")
    explainer = models.CharField(max_length=50)
    shap_version = models.CharField(max_length=20)

    def __str__(self) -> str:
        return f"explanation of {self.prediction_id}"


class OperationalSettings(models.Model):
    """Switches an operator flips at run time, without a deploy. One row (pk 1).

    Read on the scoring path (predictions/switches.py), flipped by
    services.review_all_predictions_set. The monitoring app offers it in the admin and shows it
    on its page; the table kept the name it had when the model lived there.
    """

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
        db_table = "monitoring_operationalsettings"
        verbose_name = verbose_name_plural = "operational switches"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="operational_settings_singleton")]

    def __str__(self) -> str:
        return "Operational switches"
