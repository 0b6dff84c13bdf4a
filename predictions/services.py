"""Writes: registering and activating model versions, creating predictions, the routing outbox.

Routing into the review queue is reviews' service: this app records which predictions wait
for it, sends them to its task by name and marks them routed or reviewed when reviews says so.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q, TextChoices
from django.utils import timezone

import reviewapp.errors
from audit.actors import actor_name
from audit.digests import features_v1_json, sha256_hex
from audit.models import AuditEvent
from audit.services import Event, audit_event_record, audit_events_record
from predictions import registry, switches
from predictions.models import (
    REASON_CODES_INDEX,
    ApiKey,
    ModelArtifact,
    ModelVersion,
    OperationalSettings,
    Prediction,
)
from predictions.persistence import ScoredRow, scored_rows_insert
from predictions.sampling import in_sample
from predictions.scoring import Scored, artifact_bytes, bytes_sha256
from predictions.selectors import API_KEY_PREFIX, api_key_cache_clear, api_key_hash
from reviewapp.coalescing import Coalescer
from reviewapp.rates import parse_rate

if TYPE_CHECKING:  # training imports pandas, which a web process never needs
    from predictions.registry import ActiveModel
    from predictions.scoring import Scorer
    from predictions.training import TrainingResult

logger = logging.getLogger(__name__)


class InvalidInput(reviewapp.errors.InvalidInput):
    """Input that does not fit the schema; `errors` is DRF's field-error shape."""


class Conflict(reviewapp.errors.Conflict):
    """A request ID already stands for something else."""


# --- model versions ---------------------------------------------------------------------


def model_version_register(
    *, name: str, result: TrainingResult, training_info: dict[str, Any], created_by: str = ""
) -> ModelVersion:
    """Register the artifact as a new, staged version; its bytes go into the database with it."""
    version_number = (ModelVersion.objects.aggregate(top=Max("version"))["top"] or 0) + 1
    relative_path = f"{name}-v{version_number}-{uuid.uuid4().hex[:8]}.joblib"
    data = artifact_bytes(
        bundle={
            "estimator": result.estimator,
            "trees": result.trees,
            "schema": result.schema,
            "decision_threshold": 0.5,
            "self_check": result.self_check,
        }
    )
    sha256 = bytes_sha256(data)
    _artifact_file_copy(relative_path, data)
    with transaction.atomic():
        version = ModelVersion.objects.create(
            name=name,
            version=version_number,
            artifact_path=relative_path,
            sha256=sha256,
            feature_schema=result.schema,
            reference=result.reference,
            metrics=result.metrics,
            library_versions=result.library_versions,
            training_info=training_info,
            review_threshold=settings.REVIEW_CONFIDENCE_THRESHOLD,
            audit_sample_rate=settings.AUDIT_SAMPLE_RATE,
            created_by=created_by,
        )
        ModelArtifact.objects.create(model_version=version, data=data, size=len(data))
        audit_event_record(
            action=AuditEvent.Action.MODEL_REGISTERED,
            actor=created_by or "system:train_model",
            object_type="model_version",
            object_id=version.version,
            after={"name": name, "sha256": sha256, "metrics": result.metrics, "training": training_info},
        )
    return version


def _artifact_file_copy(relative_path: str, data: bytes) -> None:
    # Processes load the database's copy. The file is for tools that read artifacts from disk
    # (bench/load.py's peer) and for a release before this one, should it be rolled back; where
    # MODEL_ARTIFACT_DIR cannot be written (no volume, a read-only file system) there is none.
    path = settings.MODEL_ARTIFACT_DIR / relative_path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as error:
        logger.info("model artifact stored in the database only; no file copy at %s: %s", path, error)


class ArtifactFile(TextChoices):
    """What `model_artifacts_store_files` found for a version without a database copy."""

    STORED = "stored", "copied into the database"
    MISSING = "missing", "no file: still not loadable here"
    CHECKSUM_DIFFERS = "checksum_differs", "file differs from the registered sha256: not copied"


def model_artifacts_store_files() -> dict[int, ArtifactFile]:
    """Copy into the database the artifacts of versions that have only a file (registered before
    the database held artifacts, their file absent when migrate copied the others).

    A file that does not hash to the version's sha256 is left out: it would be refused anyway.
    Returns what happened to each version, by version number.
    """
    found: dict[int, ArtifactFile] = {}
    for version in ModelVersion.objects.filter(artifact__isnull=True).order_by("version"):
        try:
            data = registry.artifact_full_path(version).read_bytes()
        except FileNotFoundError:
            found[version.version] = ArtifactFile.MISSING
            continue
        if bytes_sha256(data) != version.sha256:
            found[version.version] = ArtifactFile.CHECKSUM_DIFFERS
            continue
        ModelArtifact.objects.get_or_create(model_version=version, defaults={"data": data, "size": len(data)})
        found[version.version] = ArtifactFile.STORED
    return found


def model_version_activate(*, version: int, actor: str) -> ModelVersion:
    """Make `version` the one active model (also the rollback). Refuses a broken artifact."""
    target = ModelVersion.objects.get(version=version)
    registry.load_version(target)  # raises ArtifactError before anything changes
    with transaction.atomic():
        current = list(ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE))
        for previous in current:
            if previous.pk != target.pk:
                previous.status = ModelVersion.Status.RETIRED
                previous.save(update_fields=["status"])
        target.status = ModelVersion.Status.ACTIVE
        target.activated_at = timezone.now()
        target.activated_by = actor
        target.save(update_fields=["status", "activated_at", "activated_by"])
        previous_version = next((p.version for p in current), None)
        rolled_back = previous_version is not None and previous_version > target.version
        audit_event_record(
            action=AuditEvent.Action.MODEL_ROLLED_BACK if rolled_back else AuditEvent.Action.MODEL_ACTIVATED,
            actor=actor,
            object_type="model_version",
            object_id=target.version,
            before={"active_version": previous_version},
            after={"active_version": target.version},
        )
    registry.forget()
    return target


# A confidence is never below 0.5, so a lower threshold would review nothing either; 1.0
# reviews every prediction.
REVIEW_THRESHOLD_RANGE = (0.5, 1.0)


def model_version_threshold_set(*, version: int, threshold: float, actor: str) -> ModelVersion:
    """Set a version's review threshold (the what-if's "apply"); audited.

    Predictions with confidence below it go to review. This process scores with it at once;
    every other one within MODEL_REFRESH_SECONDS (registry.get_active_model).
    """
    low, high = REVIEW_THRESHOLD_RANGE
    if not low <= threshold <= high or threshold != threshold:  # NaN compares unequal to itself
        raise InvalidInput({"threshold": [f"A review threshold is between {low} and {high}."]})
    return _model_version_setting_set(
        version=version,
        field="review_threshold",
        value=threshold,
        action=AuditEvent.Action.MODEL_THRESHOLD_CHANGED,
        actor=actor,
    )


def model_version_audit_sample_rate_set(*, version: int, rate: float, actor: str) -> ModelVersion:
    """Set the share of a version's automatic decisions also sent to blind review; audited.

    0 turns the sample off, 1 reviews every confident prediction too. Every process samples
    with it within MODEL_REFRESH_SECONDS, as with the threshold.
    """
    if not 0.0 <= rate <= 1.0 or rate != rate:  # NaN compares unequal to itself
        raise InvalidInput({"audit_sample_rate": ["An audit sample rate is between 0 and 1."]})
    return _model_version_setting_set(
        version=version,
        field="audit_sample_rate",
        value=rate,
        action=AuditEvent.Action.MODEL_AUDIT_SAMPLE_RATE_CHANGED,
        actor=actor,
    )


def _model_version_setting_set(
    *, version: int, field: str, value: float, action: str, actor: str
) -> ModelVersion:
    """Change one of a version's scoring settings under its row lock; audited when it changed.

    This process scores with it at once (`registry.forget`), every other one within
    MODEL_REFRESH_SECONDS (registry.get_active_model)."""
    with transaction.atomic():
        target = ModelVersion.objects.select_for_update().filter(version=version).first()
        if target is None:
            raise InvalidInput({"version": [f"There is no model version {version}."]})
        before = getattr(target, field)
        if before != value:
            setattr(target, field, value)
            target.save(update_fields=[field])
            audit_event_record(
                action=action,
                actor=actor,
                object_type="model_version",
                object_id=target.version,
                before={field: before},
                after={field: value},
            )
    registry.forget()
    return target


# --- predictions ------------------------------------------------------------------------


def features_digest(features: dict[str, Any]) -> str:
    # Frozen spelling: stored digests are compared with new ones to recognise a repeat.
    return sha256_hex(features_v1_json(features))


@dataclass(frozen=True)
class _Candidate:
    request_id: str
    features: dict[str, Any]
    digest: str


def prediction_create(
    *, api_key: ApiKey | None, request_id: str | None, features: dict[str, Any], actor: str = ""
) -> tuple[Prediction, bool]:
    """Score, explain and store one transaction; return (prediction, created).

    Idempotent on `request_id`: a repeat with the same features returns the stored
    prediction, one with other features raises Conflict.
    """
    results, created = predictions_create_batch(
        api_key=api_key, items=[{"request_id": request_id, "features": features}], single=True, actor=actor
    )
    return results[0], bool(created)


def predictions_create_batch(
    *, api_key: ApiKey | None, items: list[dict[str, Any]], single: bool = False, actor: str = ""
) -> tuple[list[Prediction], list[Prediction]]:
    """All-or-nothing: validate every item, score the new ones in one pass, bulk insert.

    Returns (results in input order, the newly created ones).
    """
    active = registry.get_active_model()
    candidates = _validated_candidates(active.scorer, items, single=single)
    actor = actor_name(api_key=api_key) if api_key else actor or "system"
    try:
        # The common case, all new: no look-up first; the unique request_id catches repeats.
        created = _insert_scored(active, api_key, candidates, actor)
        return created, created
    except IntegrityError:
        pass
    try:
        return _store_new(active, api_key, candidates, actor, single=single)
    except IntegrityError:
        # A concurrent request inserted one of our request IDs first; now it is visible.
        return _store_new(active, api_key, candidates, actor, single=single)


def _validated_candidates(scorer: Scorer, items: list[dict[str, Any]], *, single: bool) -> list[_Candidate]:
    errors: dict[str, Any] = {}
    candidates = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        features, feature_errors = scorer.features.normalised(item["features"])
        request_id = item.get("request_id") or str(uuid.uuid4())
        item_errors: dict[str, Any] = {}
        if feature_errors:
            item_errors["features"] = feature_errors
        if request_id in seen:
            item_errors["request_id"] = [f"Repeats the request_id of item {seen[request_id]}."]
        seen.setdefault(request_id, index)
        if item_errors:
            errors[str(index)] = item_errors
            continue
        candidates.append(_Candidate(request_id, features, features_digest(features)))
    if errors:
        raise InvalidInput(errors["0"] if single else {"items": errors})
    return candidates


def _store_new(
    active: ActiveModel, api_key: ApiKey | None, candidates: list[_Candidate], actor: str, *, single: bool
) -> tuple[list[Prediction], list[Prediction]]:
    existing = Prediction.objects.filter(request_id__in=[c.request_id for c in candidates]).in_bulk(
        field_name="request_id"
    )
    _raise_on_conflicts(existing, api_key, candidates, single=single)
    new = [c for c in candidates if c.request_id not in existing]
    created = _insert_scored(active, api_key, new, actor) if new else []
    by_request_id = {**existing, **{p.request_id: p for p in created}}
    return [by_request_id[c.request_id] for c in candidates], created


def _raise_on_conflicts(
    existing: dict[str, Prediction], api_key: ApiKey | None, candidates: list[_Candidate], *, single: bool
) -> None:
    errors: dict[str, dict[str, list[str]]] = {}
    for index, candidate in enumerate(candidates):
        stored = existing.get(candidate.request_id)
        if stored is None:
            continue
        if stored.api_key_id != (api_key.pk if api_key else None):
            errors[str(index)] = {"request_id": ["This request_id is already in use."]}
        elif stored.features_digest != candidate.digest:
            errors[str(index)] = {
                "request_id": [
                    f"A prediction with request_id '{candidate.request_id}' already exists "
                    "with different features."
                ]
            }
    if errors:
        raise Conflict(next(iter(errors.values())) if single else {"items": errors})


def _insert_scored(
    active: ActiveModel, api_key: ApiKey | None, candidates: list[_Candidate], actor: str
) -> list[Prediction]:
    version = active.version
    scored = active.scorer.score([c.features for c in candidates])
    # The kill switch, read once a call and only if a confident prediction needs it (a low one
    # goes to review anyway): read per row, it was 5 % of a 1,000-row batch (bench/README.md).
    everything = (
        any(r.confidence >= version.review_threshold for r in scored) and switches.review_everything()
    )
    rows = [
        ScoredRow(
            prediction=_prediction_row(
                version, api_key, candidate, result, actor, review_everything=everything
            ),
            base_value=result.base_value,
            contributions=result.contributions,
        )
        for candidate, result in zip(candidates, scored, strict=True)
    ]
    # Atomic by itself; routing waits for the commit (at once when the caller holds no transaction).
    scored_rows_insert(
        rows=rows, explainer=active.scorer.explainer_name, shap_version=active.scorer.shap_version
    )
    created = [row.prediction for row in rows]
    to_route = [p.pk for p in created if p.routing_state == Prediction.RoutingState.PENDING]
    if to_route:
        transaction.on_commit(lambda: _send_after_commit(_routing_batches, to_route))
    if registry.challenger_present():  # a cached flag: no query per request
        created_ids = [p.pk for p in created]
        transaction.on_commit(lambda: _send_after_commit(_shadow_batches, created_ids))
    return created


def _prediction_row(
    version: ModelVersion,
    api_key: ApiKey | None,
    candidate: _Candidate,
    result: Scored,
    actor: str,
    *,
    review_everything: bool,
) -> Prediction:
    reason, probability = review_reason_for(
        version=version,
        request_id=candidate.request_id,
        confidence=result.confidence,
        review_everything=review_everything,
    )
    # An audit sample is decided like any confident prediction (upstream is not kept waiting)
    # and reviewed as well: it goes through the routing outbox, but keeps routing "auto".
    needs_review = reason is not None and reason != Prediction.ReviewReason.AUDIT_SAMPLE
    # Read per row, not once a batch: the shadow sweep walks predictions by creation time, and
    # a whole batch at one instant could hold it (tests/lifecycle/test_shadow.py).
    now = timezone.now()
    return Prediction.scored(
        request_id=candidate.request_id,
        api_key=api_key,
        scored_by=None if api_key else actor,  # an API key names its caller itself
        model_version=version,
        features=candidate.features,
        features_digest=candidate.digest,
        score=result.score,
        label=result.label,
        confidence=result.confidence,
        routing=Prediction.Routing.REVIEW if needs_review else Prediction.Routing.AUTO,
        status=Prediction.Status.PENDING_REVIEW if needs_review else Prediction.Status.DECIDED,
        final_label="" if needs_review else result.label,
        reason_codes=result.reason_codes(candidate.features),
        routing_state=Prediction.RoutingState.PENDING if reason else Prediction.RoutingState.NOT_NEEDED,
        routing_enqueued_at=now if reason else None,
        review_reason=reason,
        inclusion_probability=probability,
        created_at=now,
    )


def review_reason_for(
    *, version: ModelVersion, request_id: str, confidence: float, review_everything: bool = False
) -> tuple[str | None, float | None]:
    """The routing rule, pure: also what a shadowing challenger would have done (lifecycle),
    with its own threshold and sample rate and without the kill switch (review_everything)."""
    if confidence < version.review_threshold:
        return Prediction.ReviewReason.LOW_CONFIDENCE, 1.0
    # The kill switch pauses automatic decisions: everything goes to a person.
    if review_everything:
        return Prediction.ReviewReason.REVIEW_EVERYTHING, 1.0
    if in_sample(request_id, rate=version.audit_sample_rate):
        return Prediction.ReviewReason.AUDIT_SAMPLE, version.audit_sample_rate
    return None, None


def reason_codes_index_flush() -> int:
    """Merge what waits in the reason-code index's pending list into the index; return the
    pending pages merged (0 where there is no such index: SQLite).

    Scoring's inserts only append to the list (models.py says why); beat runs this every few
    seconds, so the merge happens here, off the scoring path, many entries at a time.
    """
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [REASON_CODES_INDEX])
        (merged,) = cursor.fetchone()
    return int(merged)


# --- routing ----------------------------------------------------------------------------


# The task that routes predictions into the review queue (reviews.services.review_items_route).
# It lives in reviews, which this app may not import, so it is found by name: renaming the task
# means changing this line (a test checks that the name resolves).
ROUTING_TASK = "reviews.tasks.review_items_route"


def routing_enqueue(*, prediction_ids: list[int]) -> None:
    """Hand predictions to the routing task; if the broker is down, the sweeper retries."""
    _task_send(ROUTING_TASK, prediction_ids, failed="routing enqueue failed; the sweeper will retry")


def _task_send(name: str, prediction_ids: list[int], *, failed: str) -> None:
    # From the app's registry rather than send_task: send_task always publishes, ignoring
    # task_always_eager, on which the no-broker mode (the demo, the tests) relies. The apps
    # register their tasks at start-up, so this is a dictionary look-up.
    try:
        current_app.tasks[name].apply_async(kwargs={"prediction_ids": prediction_ids})
    except Exception:  # the broker's errors vary by transport; none may fail the request
        logger.warning("%s (%d predictions)", failed, len(prediction_ids), exc_info=True)


# The task that scores predictions with the challenger (lifecycle.services.shadow_scores_create),
# found by name like ROUTING_TASK: lifecycle sits above this app (a test checks the name).
SHADOW_TASK = "lifecycle.tasks.shadow_scores_create"


def shadow_enqueue(*, prediction_ids: list[int]) -> None:
    """Hand a commit group's predictions to the challenger, off the hot path; never fails the
    request: if the broker is down, lifecycle's shadow sweep scores them later."""
    _task_send(SHADOW_TASK, prediction_ids, failed="shadow enqueue failed; the shadow sweep will score them")


# What the scoring path hands to Celery after each commit goes out one message per
# TASK_COALESCE_SECONDS per process, not one per request (reviewapp/coalescing.py; figures in
# bench/README.md). What a killed process held is still in the outboxes (routing_state
# "pending", predictions without a shadow score), which the sweepers send again.
_COALESCED_MAX_IDS = 500
_routing_batches = Coalescer(
    name="routing",
    send=lambda ids: routing_enqueue(prediction_ids=ids),
    window_seconds=lambda: settings.TASK_COALESCE_SECONDS,
    max_ids=_COALESCED_MAX_IDS,
)
_shadow_batches = Coalescer(
    name="shadow",
    send=lambda ids: shadow_enqueue(prediction_ids=ids),
    window_seconds=lambda: settings.TASK_COALESCE_SECONDS,
    max_ids=_COALESCED_MAX_IDS,
)


def _send_after_commit(batches: Coalescer, prediction_ids: list[int]) -> None:
    # Without a broker (the demo, the tests) tasks run eagerly: at once, as they always did.
    if current_app.conf.task_always_eager or settings.TASK_COALESCE_SECONDS <= 0:
        batches.send_now(prediction_ids)
    else:
        batches.add(prediction_ids)


def predictions_routed_mark(*, predictions: list[Prediction]) -> None:
    """The outbox is done with these predictions: their review items exist.

    Called by the routing service inside the transaction that created the items, with the
    predictions locked; the audit events are written in that transaction too.
    """
    Prediction.objects.filter(pk__in=[p.pk for p in predictions]).update(
        routing_state=Prediction.RoutingState.DONE, routed_at=timezone.now()
    )
    audit_events_record(
        events=[
            Event(
                action=AuditEvent.Action.PREDICTION_ROUTED,
                actor="system:routing",
                object_type="prediction",
                object_id=p.pk,
                request_id=p.request_id,
                before={"routing_state": Prediction.RoutingState.PENDING},
                after={"routing_state": Prediction.RoutingState.DONE, "queue": "review"},
            )
            for p in predictions
        ]
    )


def routing_sweep(*, older_than_seconds: int | None = None, batch_size: int = 500) -> int:
    """Re-enqueue predictions that have waited too long for routing (broker down, worker died).

    Each is sent again at most once per period, so a long outage does not pile up copies.
    """
    if older_than_seconds is None:
        older_than_seconds = settings.ROUTING_SWEEP_AFTER_SECONDS
    now = timezone.now()
    stale = list(
        Prediction.objects.filter(
            routing_state=Prediction.RoutingState.PENDING,
            routing_enqueued_at__lte=now - timedelta(seconds=older_than_seconds),
        )
        .order_by("routing_enqueued_at")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(stale), batch_size):
        chunk = stale[start : start + batch_size]
        Prediction.objects.filter(pk__in=chunk).update(routing_enqueued_at=now)
        routing_enqueue(prediction_ids=chunk)
    if stale:
        logger.info("routing sweep re-enqueued %d predictions", len(stale))
    return len(stale)


# --- the review's outcome ---------------------------------------------------------------


def prediction_review_record(*, prediction: Prediction, final_label: str) -> Prediction:
    """A person decided the prediction: its final label is theirs.

    Called by the decision service inside its transaction, which also audits the decision.
    """
    prediction.status, prediction.final_label = Prediction.Status.REVIEWED, final_label
    prediction.save(update_fields=["status", "final_label"])
    return prediction


# --- outcomes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportedOutcome:
    """What the outcomes app learned about a prediction, as the prediction keeps it."""

    prediction_id: int
    label: str
    source: str
    occurred_at: datetime
    received_at: datetime


def predictions_outcome_apply(*, outcomes: list[ReportedOutcome]) -> int:
    """Make each outcome its prediction's effective one if it is the latest; return how many were.

    The latest by occurred_at wins, ties going to the later received. Each update re-checks
    that under the row's lock, so concurrent reports of the same prediction settle on the
    latest whatever their order. Called by the outcomes service in the transaction that
    stores the outcomes.
    """
    latest: dict[int, ReportedOutcome] = {}
    for outcome in outcomes:
        kept = latest.get(outcome.prediction_id)
        if kept is None or _outcome_order(outcome) > _outcome_order(kept):
            latest[outcome.prediction_id] = outcome
    # In id order, so two writers touching the same predictions lock them in the same order.
    ordered = [latest[prediction_id] for prediction_id in sorted(latest)]
    if connection.vendor == "postgresql":
        return _outcomes_apply_postgresql(ordered)
    changed = 0
    for outcome in ordered:
        changed += (
            Prediction.objects.filter(pk=outcome.prediction_id)
            .filter(
                Q(outcome_occurred_at__isnull=True)
                | Q(outcome_occurred_at__lt=outcome.occurred_at)
                | Q(outcome_occurred_at=outcome.occurred_at, outcome_received_at__lte=outcome.received_at)
            )
            .update(
                outcome_label=outcome.label,
                outcome_source=outcome.source,
                outcome_occurred_at=outcome.occurred_at,
                outcome_received_at=outcome.received_at,
            )
        )
    return changed


# One statement for a chunk of outcomes, where the ORM sends one UPDATE per prediction (an
# import's 1,000-row chunk: 1 round trip instead of 1,000). The rows are locked first, in id
# order; the UPDATE then re-checks the stored time on each, as a concurrent writer may have
# moved it since.
_LOCK_PREDICTIONS = "SELECT id FROM predictions_prediction WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
_APPLY_OUTCOMES = """
UPDATE predictions_prediction AS p
SET outcome_label = v.label, outcome_source = v.source,
    outcome_occurred_at = v.occurred_at, outcome_received_at = v.received_at
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[])
    AS v(id, label, source, occurred_at, received_at)
WHERE p.id = v.id
  AND (p.outcome_occurred_at IS NULL
       OR (p.outcome_occurred_at, p.outcome_received_at) <= (v.occurred_at, v.received_at))
"""


def _outcomes_apply_postgresql(outcomes: list[ReportedOutcome]) -> int:
    ids = [o.prediction_id for o in outcomes]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LOCK_PREDICTIONS, [ids])
        cursor.execute(
            _APPLY_OUTCOMES,
            [
                ids,
                [o.label for o in outcomes],
                [o.source for o in outcomes],
                [o.occurred_at for o in outcomes],
                [o.received_at for o in outcomes],
            ],
        )
        return cursor.rowcount


def _outcome_order(outcome: ReportedOutcome) -> tuple[datetime, datetime]:
    return outcome.occurred_at, outcome.received_at


# --- operational switches ---------------------------------------------------------------


def review_all_predictions_set(*, on: bool, actor: str) -> OperationalSettings:
    """Flip "send every prediction to review"; audited. Other processes follow within seconds."""
    with transaction.atomic():
        current, _ = OperationalSettings.objects.select_for_update().get_or_create(pk=1)
        before = current.review_all_predictions
        if before != on:
            current.review_all_predictions = on
            current.changed_at, current.changed_by = timezone.now(), actor
            current.save()
            audit_event_record(
                action=AuditEvent.Action.OPERATIONS_SWITCHED,
                actor=actor,
                object_type="operational_settings",
                object_id=current.pk,
                before={"review_all_predictions": before},
                after={"review_all_predictions": on},
            )
    switches.forget()
    return current


# --- API keys ---------------------------------------------------------------------------


def api_key_create(
    *,
    name: str,
    callback_url: str = "",
    callback_secret: str = "",
    expires_at: datetime | None = None,
    rate_limit: str = "",
    actor: str = "system",
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown once and never stored."""
    api_key = ApiKey(
        name=name,
        callback_url=callback_url,
        callback_secret=callback_secret,
        expires_at=expires_at,
        rate_limit=rate_limit,
    )
    _api_key_check(api_key)
    with transaction.atomic():
        secret = _new_secret(api_key)
        _api_key_event(AuditEvent.Action.API_KEY_CREATED, api_key, actor)
    return api_key, secret


# What an administrator may change on a key; each change is an audit event.
API_KEY_SETTINGS = ("name", "expires_at", "rate_limit", "callback_url", "callback_secret")


def api_key_update(*, api_key: ApiKey, actor: str, **changes: Any) -> ApiKey:
    """Change a key's settings (not its secret); records what changed, secrets masked."""
    unknown = set(changes) - set(API_KEY_SETTINGS)
    if unknown:
        raise InvalidInput({name: ["This setting cannot be changed here."] for name in sorted(unknown)})
    stored = ApiKey.objects.get(pk=api_key.pk)
    changed = {name: value for name, value in changes.items() if getattr(stored, name) != value}
    if not changed:
        return api_key
    for name, value in changed.items():
        setattr(api_key, name, value)
    _api_key_check(api_key)
    with transaction.atomic():
        api_key.save(update_fields=list(changed))
        audit_event_record(
            action=AuditEvent.Action.API_KEY_CHANGED,
            actor=actor,
            object_type="api_key",
            object_id=api_key.pk,
            before={name: _shown(name, getattr(stored, name)) for name in changed},
            after={name: _shown(name, value) for name, value in changed.items()},
        )
    api_key_cache_clear()
    return api_key


def _shown(name: str, value: Any) -> Any:
    if name == "callback_secret":
        return "(set)" if value else ""
    return value


def _api_key_check(api_key: ApiKey) -> None:
    errors = {}
    if api_key.callback_url and not api_key.callback_url.startswith(("http://", "https://")):
        errors["callback_url"] = ["Use an http:// or https:// URL."]
    if api_key.rate_limit:
        try:
            parse_rate(api_key.rate_limit)
        except ValueError as error:
            errors["rate_limit"] = [str(error)]
    if errors:
        raise InvalidInput(errors)


def api_key_rotate(*, api_key: ApiKey, actor: str = "system") -> str:
    """Give a key a new secret; the old one stops working (in other processes within the cache TTL)."""
    with transaction.atomic():
        secret = _new_secret(api_key)
        _api_key_event(AuditEvent.Action.API_KEY_ROTATED, api_key, actor)
    api_key_cache_clear()
    return secret


def api_key_revoke(*, api_key: ApiKey, actor: str) -> ApiKey:
    with transaction.atomic():
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        _api_key_event(AuditEvent.Action.API_KEY_REVOKED, api_key, actor)
    api_key_cache_clear()
    return api_key


def _new_secret(api_key: ApiKey) -> str:
    api_key.prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}{api_key.prefix}.{secrets.token_urlsafe(32)}"
    api_key.key_hash = api_key_hash(secret)
    api_key.save()
    return secret


def _api_key_event(action: str, api_key: ApiKey, actor: str) -> None:
    audit_event_record(
        action=action,
        actor=actor,
        object_type="api_key",
        object_id=api_key.pk,
        after={
            "name": api_key.name,
            "prefix": api_key.prefix,
            "callback_url": api_key.callback_url,
            "expires_at": api_key.expires_at,
            "rate_limit": api_key.rate_limit,
        },
    )
