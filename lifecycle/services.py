"""Writes of the lifecycle: a challenger shadows live traffic, and its shadow scores.

A challenger is a staged (or retired) version set to `status=shadow`: every prediction the
active model answers while a `ShadowPeriod` is open is also scored and explained by it, in
Celery after the commit (predictions.services.shadow_enqueue sends SHADOW_TASK by name), so
the scoring API's answer and latency do not change. docs/lifecycle.md, "Shadowing".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import Combinable
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_event_record
from lifecycle import selectors
from lifecycle.models import ShadowPeriod, ShadowScore

# Retraining's writes live in lifecycle/retraining.py beside its label assembly; its scheduled
# service is named here too, as every task's service is (tests/test_architecture.py).
from lifecycle.retraining import model_retrain as model_retrain
from predictions import registry
from predictions.models import ModelVersion, Prediction
from predictions.services import review_reason_for
from reviewapp.errors import Conflict

logger = logging.getLogger(__name__)

SWEEP_GRACE = timedelta(seconds=30)  # a commit group's own task normally runs well within this


class NotShadowable(Conflict):
    """The version cannot shadow: it is the active one."""


class NotShadowing(Conflict):
    """No version is shadowing."""


# --- starting and stopping --------------------------------------------------------------


def shadow_start(
    *, version: int, actor: str, backfill_since: datetime | None = None, backfill_in_background: bool = True
) -> ShadowPeriod:
    """Make `version` the challenger; the previous one (if any) goes back to staged.

    The artifact is loaded and its checksum verified first, so a broken one is refused
    (ArtifactError) before anything changes. With `backfill_since`, past predictions since
    then are scored too, in batches, so the comparison has figures soon: by a Celery task after
    the commit (a page or an API call answers at once, however long the history), or here and
    now with `backfill_in_background=False` (the command, the demo).
    """
    target = selectors.model_version_by_number(version=version)
    if target.status == ModelVersion.Status.ACTIVE:
        raise NotShadowable({"version": [f"v{version} is the active version: it cannot shadow itself."]})
    open_period = selectors.shadow_period_open()
    if open_period is not None and open_period.model_version_id == target.pk:
        # Already the challenger: nothing changes, but a backfill asked for is still done.
        if backfill_since is not None:
            _backfill(open_period, backfill_since, in_background=backfill_in_background)
        return open_period
    registry.load_version(target)  # raises ArtifactError before anything changes
    now = timezone.now()
    with transaction.atomic():
        active = ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE).first()
        if active is None:
            raise NotShadowable({"version": ["No version is active: there is nothing to shadow."]})
        target = ModelVersion.objects.select_for_update().get(pk=target.pk)
        if target.status == ModelVersion.Status.ACTIVE:  # activated since the check above
            raise NotShadowable({"version": [f"v{version} is the active version."]})
        previous = _period_end(actor=actor, reason=ShadowPeriod.EndReason.REPLACED, now=now)
        target.status = ModelVersion.Status.SHADOW
        target.save(update_fields=["status"])
        period = ShadowPeriod.objects.create(
            model_version=target, active_version=active, started_at=now, started_by=actor
        )
        audit_event_record(
            action=AuditEvent.Action.MODEL_SHADOW_STARTED,
            actor=actor,
            object_type="model_version",
            object_id=target.version,
            before={"shadow_version": previous.model_version.version if previous else None},
            after={
                "shadow_version": target.version,
                "active_version": active.version,
                "backfill_since": backfill_since.isoformat() if backfill_since else None,
            },
        )
    registry.forget()
    if backfill_since is not None:
        _backfill(period, backfill_since, in_background=backfill_in_background)
    return period


def _backfill(period: ShadowPeriod, since: datetime, *, in_background: bool) -> None:
    if not in_background:
        shadow_backfill(period=period, since=since)
        return
    from lifecycle import tasks  # the tasks module imports this one

    transaction.on_commit(lambda: tasks.shadow_backfill.delay(period_id=period.pk, since=since.isoformat()))


def shadow_stop(*, actor: str, version: int | None = None) -> ShadowPeriod:
    """End the open shadow period; its version goes back to staged. Its scores are kept.

    With `version`, only if that version is the one shadowing (an API call names it).
    """
    if version is not None:
        open_period = selectors.shadow_period_open()
        if open_period is None or open_period.model_version.version != version:
            selectors.model_version_by_number(version=version)  # 404 for an unknown one
            raise NotShadowing(f"v{version} is not shadowing")
    with transaction.atomic():
        period = _period_end(actor=actor, reason=ShadowPeriod.EndReason.STOPPED, now=timezone.now())
        if period is None:
            raise NotShadowing("no version is shadowing")
    registry.forget()
    return period


def shadow_period_close_on_activation(*, activated: ModelVersion, actor: str) -> None:
    """Called by the activation service, in its transaction, once `activated` is active.

    The challenger itself activated: its period ends `promoted` (it no longer shadows). Another
    version activated: the period ends `active_changed` and the challenger goes on shadowing
    against the new active version in a new period, so each period compares with one model.
    """
    with transaction.atomic():  # a savepoint in the caller's transaction; its own without one
        _period_close_on_activation(activated=activated, actor=actor, now=timezone.now())
    transaction.on_commit(registry.forget)


def _period_close_on_activation(*, activated: ModelVersion, actor: str, now: datetime) -> None:
    period = (
        ShadowPeriod.objects.select_for_update()
        .filter(ended_at__isnull=True)
        .select_related("model_version", "active_version")
        .first()
    )
    if period is None or period.active_version_id == activated.pk:
        return
    challenger = period.model_version
    promoted = challenger.pk == activated.pk
    reason = ShadowPeriod.EndReason.PROMOTED if promoted else ShadowPeriod.EndReason.ACTIVE_CHANGED
    _period_close(period, actor=actor, reason=reason, now=now)
    if promoted:
        audit_event_record(
            action=AuditEvent.Action.MODEL_SHADOW_STOPPED,
            actor=actor,
            object_type="model_version",
            object_id=challenger.version,
            before={"shadow_version": challenger.version},
            after={"shadow_version": None, "end_reason": reason},
        )
    else:
        ShadowPeriod.objects.create(
            model_version=challenger, active_version=activated, started_at=now, started_by=actor
        )
        audit_event_record(
            action=AuditEvent.Action.MODEL_SHADOW_STARTED,
            actor=actor,
            object_type="model_version",
            object_id=challenger.version,
            before={"shadow_version": challenger.version, "active_version": period.active_version.version},
            after={"shadow_version": challenger.version, "active_version": activated.version},
        )


def _period_end(*, actor: str, reason: str, now: datetime) -> ShadowPeriod | None:
    """End the open period, its version back to staged (unless it became active), audited."""
    period = (
        ShadowPeriod.objects.select_for_update()
        .filter(ended_at__isnull=True)
        .select_related("model_version")
        .first()
    )
    if period is None:
        return None
    _period_close(period, actor=actor, reason=reason, now=now)
    challenger = ModelVersion.objects.select_for_update().get(pk=period.model_version_id)
    if challenger.status == ModelVersion.Status.SHADOW:
        challenger.status = ModelVersion.Status.STAGED
        challenger.save(update_fields=["status"])
    audit_event_record(
        action=AuditEvent.Action.MODEL_SHADOW_STOPPED,
        actor=actor,
        object_type="model_version",
        object_id=challenger.version,
        before={"shadow_version": challenger.version},
        after={"shadow_version": None, "end_reason": reason},
    )
    return period


def _period_close(period: ShadowPeriod, *, actor: str, reason: str, now: datetime) -> None:
    period.ended_at, period.ended_by, period.end_reason = now, actor, reason
    period.save(update_fields=["ended_at", "ended_by", "end_reason"])


# --- shadow scores ----------------------------------------------------------------------


def shadow_scores_create(*, prediction_ids: list[int]) -> int:
    """Score a commit group's predictions with the challenger; returns how many it scored.

    Only predictions answered by the open period's active version since it started count:
    one enqueued before a challenger was stopped or replaced is skipped. Idempotent: a
    prediction already scored (re-delivery, the sweep's overlap) is neither scored again nor
    counted.
    """
    period = selectors.shadow_period_open()
    if period is None or not prediction_ids:
        return 0
    predictions = (
        Prediction.objects.filter(
            pk__in=prediction_ids,
            model_version_id=period.active_version_id,
            created_at__gte=period.started_at,
        )
        .filter(_not_scored_by(period.model_version))
        .only("pk", "request_id", "features")
    )
    return _score_and_store(period.model_version, predictions)


def shadow_sweep(*, grace: timedelta = SWEEP_GRACE, batch_size: int | None = None) -> int:
    """Score predictions of the open period still missing a shadow score (broker down, worker
    died), oldest first, at most SHADOW_BATCH_SIZE per call; beat runs it every minute.

    Each sweep starts where the last one stopped (`ShadowPeriod.swept_until`), so its work
    stays that of a minute however long the period runs, and predictions the challenger cannot
    read are said once and passed, not taken up again at every sweep. A prediction committed
    more than `grace` after it was made would be passed unseen; a backfill scores it.
    """
    period = selectors.shadow_period_open()
    if period is None:
        return 0
    limit = batch_size or settings.SHADOW_BATCH_SIZE
    until = timezone.now() - grace
    missing = list(
        Prediction.objects.filter(
            model_version_id=period.active_version_id,
            created_at__gte=period.swept_until or period.started_at,
            created_at__lt=until,
        )
        .filter(_not_scored_by(period.model_version))
        .order_by("created_at", "pk")
        .only("pk", "request_id", "features", "created_at")[:limit]
    )
    stored = _score_and_store(period.model_version, missing)
    # A full batch may have left some behind at its last instant: the next sweep starts there.
    reached = missing[-1].created_at if len(missing) == limit else until
    ShadowPeriod.objects.filter(pk=period.pk).filter(
        Q(swept_until__isnull=True) | Q(swept_until__lt=reached)
    ).update(swept_until=reached)
    if stored:
        logger.info("shadow sweep scored %d predictions with v%d", stored, period.model_version.version)
    return stored


def shadow_backfill(
    *, period: ShadowPeriod, since: datetime, batch_size: int | None = None, limit: int | None = None
) -> int:
    """Score the predictions made since `since` (before the period too) with the period's
    challenger, a batch at a time; those it already scored are skipped. Returns how many it
    took up; with `limit`, at most that many (the task goes on in a new run of itself)."""
    size = batch_size or settings.SHADOW_BATCH_SIZE
    challenger = period.model_version
    ids = list(
        Prediction.objects.filter(created_at__gte=since)
        .exclude(model_version=challenger)
        .filter(_not_scored_by(challenger))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for start in range(0, len(ids), size):
        chunk = Prediction.objects.filter(pk__in=ids[start : start + size])
        _score_and_store(challenger, chunk.only("pk", "request_id", "features"))
    return len(ids)


def _not_scored_by(challenger: ModelVersion) -> Combinable:
    """A filter on predictions: those `challenger` has no shadow score for yet."""
    return ~Exists(ShadowScore.objects.filter(prediction=OuterRef("pk"), model_version=challenger))


def _score_and_store(challenger: ModelVersion, predictions: Iterable[Prediction]) -> int:
    """One batched score-and-explain call, then one bulk insert (conflicts ignored)."""
    scorer = registry.scorer_for(challenger)
    rows = []
    for prediction in predictions:
        # A challenger may expect other features than the model that answered: a row it cannot
        # read is skipped (and said), never a failed batch.
        if scorer.validate(prediction.features):
            logger.warning("v%d cannot score prediction %d", challenger.version, prediction.pk)
            continue
        rows.append(prediction)
    if not rows:
        return 0
    results = scorer.score([p.features for p in rows])
    now = timezone.now()
    scores = []
    for prediction, result in zip(rows, results, strict=True):
        reason, _probability = review_reason_for(
            version=challenger, request_id=prediction.request_id, confidence=result.confidence
        )
        needs_review = reason is not None and reason != Prediction.ReviewReason.AUDIT_SAMPLE
        scores.append(
            ShadowScore(
                prediction=prediction,
                model_version=challenger,
                score=result.score,
                label=result.label,
                confidence=result.confidence,
                routing=Prediction.Routing.REVIEW if needs_review else Prediction.Routing.AUTO,
                review_reason=reason,
                reason_codes=result.reason_codes(prediction.features),
                base_value=result.base_value,
                shap_values=result.contributions,
                created_at=now,
            )
        )
    created = ShadowScore.objects.bulk_create(scores, ignore_conflicts=True)
    return len(created)
