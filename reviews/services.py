"""Writes on the review queue: route predictions into it, claim, release, decide, and tell upstream."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.actors import actor_name
from audit.models import AuditEvent
from audit.services import audit_event_record
from predictions import services as prediction_services
from predictions.models import Prediction
from predictions.sampling import BLIND_REVIEW_SALT, in_sample
from predictions.scoring import label_opposite
from reviewapp.errors import Conflict, DomainError, Forbidden, InvalidInput
from reviews import metrics, selectors, webhooks
from reviews.models import CallbackAttempt, CallbackDelivery, Decision, ReviewItem

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


class ReviewError(DomainError):
    """A decision or claim that cannot be made; the message is shown to the analyst."""


class InvalidDecision(ReviewError, InvalidInput):
    """The decision itself is malformed: an unknown outcome or reason, an override without one."""


class NotHolder(ReviewError, Forbidden):
    """The analyst does not hold the item under a live lease."""


class AlreadyDecided(ReviewError, Conflict):
    """Someone decided the item already."""


class StaleView(ReviewError, Conflict):
    """What the analyst saw is not what is stored."""


# --- creating items ---------------------------------------------------------------------


def review_priority(prediction: Prediction) -> float:
    """Expected loss, weighted up for the cases the model is least sure about.

    uncertainty is 1 at a score of 0.5 and 0 at 0 or 1, so a large, coin-flip case comes first.
    """
    amount = float(prediction.features.get("amount", 1.0))
    uncertainty = 1.0 - abs(prediction.score - 0.5) * 2
    return round(prediction.score * amount * (0.5 + uncertainty), 6)


def review_item_blind(prediction: Prediction) -> bool:
    """Whether the analyst decides without seeing the model's verdict and explanation.

    Always for an audit sample: it measures the model, so its reviewer must not be anchored
    by it. For a BLIND_REVIEW_RATE share of the others too, drawn by request ID (the same
    request is always blind or always not), so sighted and blind accuracy can be compared.
    """
    if prediction.review_reason == Prediction.ReviewReason.AUDIT_SAMPLE:
        return True
    return in_sample(prediction.request_id, rate=settings.BLIND_REVIEW_RATE, salt=BLIND_REVIEW_SALT)


def review_items_create(*, predictions: list[Prediction]) -> None:
    """One review item per prediction; the unique constraint makes a repeat a no-op."""
    items = []
    for prediction in predictions:
        blind = review_item_blind(prediction)
        # A blind item's place in the queue must not hint at the score it hides.
        priority = _blind_priority(prediction) if blind else review_priority(prediction)
        amount = prediction.features.get("amount")
        items.append(ReviewItem(prediction=prediction, priority=priority, amount=amount, blind=blind))
    ReviewItem.objects.bulk_create(items, ignore_conflicts=True)


def _blind_priority(prediction: Prediction) -> float:
    """The priority of a coin-flip case of the same amount: the loss at stake, no score in it."""
    return round(0.5 * float(prediction.features.get("amount", 1.0)), 6)


# What routing reads of a prediction (its item's priority and blindness, the routed event): the
# whole row, with its JSON parsed and its times loaded, was two fifths of routing's time
# (bench/README.md). Reading another field of these predictions costs a query per prediction;
# a test counts the queries.
_ROUTING_READS = ("id", "request_id", "score", "review_reason", "features")


def review_items_route(*, prediction_ids: list[int]) -> int:
    """Create one review item per prediction still waiting in predictions' routing outbox.

    Safe to run any number of times: predictions already routed are skipped under their row
    lock, and the items, the routed mark and its audit events commit together or not at all.
    """
    with transaction.atomic():
        waiting = list(
            Prediction.objects.select_for_update()
            .filter(pk__in=prediction_ids, routing_state=Prediction.RoutingState.PENDING)
            .only(*_ROUTING_READS)
        )
        if not waiting:
            return 0
        review_items_create(predictions=waiting)
        prediction_services.predictions_routed_mark(predictions=waiting)
    return len(waiting)


# --- claiming ---------------------------------------------------------------------------


def _item_event(
    action: str,
    item: ReviewItem,
    *,
    actor: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    audit_event_record(
        action=action,
        actor=actor,
        object_type="review_item",
        object_id=item.pk,
        request_id=item.prediction.request_id,
        before=before,
        after=after,
    )


def _claimed_event(item: ReviewItem, user: User) -> None:
    _item_event(
        AuditEvent.Action.REVIEW_CLAIMED,
        item,
        actor=actor_name(user=user),
        after={"state": item.state, "lease_expires_at": item.lease_expires_at},
    )


def review_item_claim_next(*, user: User) -> ReviewItem | None:
    """The item this analyst already holds, else the highest-priority available one, leased."""
    held = selectors.items_held_by(user=user).first()
    if held is not None:
        return held
    if connection.features.has_select_for_update_skip_locked:
        return _claim_skipping_locked(user)
    return _claim_by_conditional_update(user)


def _lease(user: User, now: datetime) -> dict[str, Any]:
    return {
        "state": ReviewItem.State.CLAIMED,
        "claimed_by": user,
        "claimed_at": now,
        "lease_expires_at": now + timedelta(minutes=settings.REVIEW_LEASE_MINUTES),
    }


def _claim_skipping_locked(user: User) -> ReviewItem | None:
    # Rows another analyst is claiming right now are skipped, not waited for.
    now = timezone.now()
    with transaction.atomic():
        item = (
            selectors.available_items(now=now)
            .select_related("prediction")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if item is None:
            return None
        for field, value in _lease(user, now).items():
            setattr(item, field, value)
        item.save(update_fields=["state", "claimed_by", "claimed_at", "lease_expires_at"])
        _claimed_event(item, user)
    return item


def _claim_by_conditional_update(user: User) -> ReviewItem | None:
    # Without row locks (SQLite): the UPDATE re-checks availability, so one claimer wins.
    # Each lost race means another claimer took an item, so the loop ends with the queue.
    while True:
        now = timezone.now()
        candidate = selectors.available_items(now=now).values_list("pk", flat=True).first()
        if candidate is None:
            return None
        with transaction.atomic():
            won = selectors.available_items(now=now).filter(pk=candidate).update(**_lease(user, now))
            if won:
                item = ReviewItem.objects.select_related("prediction").get(pk=candidate)
                _claimed_event(item, user)
                return item


def review_item_claim(*, item_id: int, user: User) -> ReviewItem:
    """Claim one chosen item, if nobody holds it under a live lease."""
    now = timezone.now()
    with transaction.atomic():
        won = selectors.available_items(now=now).filter(pk=item_id).update(**_lease(user, now))
        item = ReviewItem.objects.select_related("prediction").get(pk=item_id)
        if won:
            _claimed_event(item, user)
    if not won and not (item.state == ReviewItem.State.CLAIMED and item.claimed_by_id == user.pk):
        if item.state == ReviewItem.State.DECIDED:
            raise AlreadyDecided("This item has already been decided.")
        raise NotHolder(f"{item.claimed_by} holds this item until {item.lease_expires_at:%H:%M} UTC.")
    return item


def review_item_release(*, item_id: int, user: User) -> ReviewItem:
    """Put an item I hold back in the queue."""
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item_id)
        _check_holder(item, user)
        item.state = ReviewItem.State.PENDING
        item.claimed_by = item.claimed_at = item.lease_expires_at = None
        item.save(update_fields=["state", "claimed_by", "claimed_at", "lease_expires_at"])
        _item_event(
            AuditEvent.Action.REVIEW_RELEASED,
            item,
            actor=actor_name(user=user),
            before={"state": ReviewItem.State.CLAIMED},
            after={"state": item.state},
        )
    return item


def review_leases_expire() -> int:
    """Return items whose lease ran out to the queue (claims already ignore them)."""
    with transaction.atomic():
        expired = list(
            ReviewItem.objects.select_for_update(of=("self",))
            .select_related("prediction", "claimed_by")
            .filter(state=ReviewItem.State.CLAIMED, lease_expires_at__lt=timezone.now())
        )
        ReviewItem.objects.filter(pk__in=[item.pk for item in expired]).update(
            state=ReviewItem.State.PENDING, claimed_by=None, claimed_at=None, lease_expires_at=None
        )
        for item in expired:
            _item_event(
                AuditEvent.Action.REVIEW_LEASE_EXPIRED,
                item,
                actor="system:lease_expiry",
                before={"state": item.state, "claimed_by": _username(item.claimed_by)},
                after={"state": ReviewItem.State.PENDING},
            )
    return len(expired)


def _username(user: User | None) -> str | None:
    # A claimed item always has its claimer; the column allows none, so the type does too.
    return user.get_username() if user is not None else None


def _check_holder(item: ReviewItem, user: User) -> None:
    if item.state == ReviewItem.State.DECIDED:
        raise AlreadyDecided("This item has already been decided.")
    if item.state != ReviewItem.State.CLAIMED or item.claimed_by_id != user.pk:
        raise NotHolder("You do not hold this item; claim it first.")


# --- deciding ---------------------------------------------------------------------------


def decision_record(
    *,
    item_id: int,
    user: User,
    seen_digest: str,
    outcome: str = "",
    label: str = "",
    reason: str = "",
    note: str = "",
) -> Decision:
    """Store the verdict, the final label and the reviewer atomically; queue the callback.

    A sighted item is decided by `outcome`: confirm or override the model's label. A blind one
    by `label`, the analyst's own (fraud or legit): the outcome is derived from it, and an
    override needs no reason, since its reviewer could not know it was one. An audit sample
    keeps its automatic decision (upstream acted on it long ago): the prediction stays decided
    with the model's label, the review is the Decision, and upstream hears of it by callback.
    """
    if outcome and label:
        raise InvalidDecision("Give an outcome or a label, not both.")
    if outcome and outcome not in Decision.Outcome.values:
        raise InvalidDecision(f"Unknown outcome {outcome!r}.")
    if label and label not in Prediction.Label.values:
        raise InvalidDecision(f"Unknown label {label!r}.")
    if reason and reason not in Decision.Reason.values:
        raise InvalidDecision(f"Unknown reason {reason!r}.")
    if outcome == Decision.Outcome.OVERRIDDEN and not reason:
        raise InvalidDecision("An override needs a reason.")
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().select_related("prediction").get(pk=item_id)
        _check_holder(item, user)
        if item.lease_expires_at is None or item.lease_expires_at < timezone.now():
            # Past its lease the item is back in the queue, whether or not the expiry sweep ran.
            raise NotHolder("Your lease ran out; claim the item again to decide it.")
        if item.blind and not label:
            raise InvalidDecision("This item is reviewed blind: label it fraud or legit.")
        if not item.blind and not outcome:
            raise InvalidDecision("Confirm or override the model's label.")
        prediction = Prediction.objects.select_related("model_version", "explanation", "api_key").get(
            pk=item.prediction_id
        )
        if seen_digest != selectors.review_digest(prediction, blind=item.blind):
            raise StaleView("What you saw is not what is stored; reload the item and decide again.")
        if item.blind:
            final_label = label
            outcome = Decision.Outcome.CONFIRMED if label == prediction.label else Decision.Outcome.OVERRIDDEN
        else:
            final_label = _final_label(prediction.label, outcome)
        before = {"status": prediction.status, "label": prediction.label}
        audit_sample = _audit_sample(prediction)
        now = timezone.now()
        decision = Decision.objects.create(
            review_item=item,
            outcome=outcome,
            final_label=final_label,
            reason=reason,
            note=note,
            reviewer=user,
            reviewer_name=user.get_username(),
            seen_digest=seen_digest,
            blind=item.blind,
            decided_at=now,
        )
        item.state, item.decided_at = ReviewItem.State.DECIDED, now
        item.save(update_fields=["state", "decided_at"])
        if not audit_sample:
            # An audit sample's prediction keeps the model's automatic decision: the review
            # measures the model, it does not redo what upstream already acted on.
            prediction_services.prediction_review_record(prediction=prediction, final_label=final_label)
        after: dict[str, Any] = {
            "outcome": outcome,
            "final_label": final_label,
            "reason": reason,
            "note": note,
            "seen_digest": seen_digest,
        }
        if item.blind:
            after |= {"blind": True, "audit_sample": audit_sample}
        _item_event(
            AuditEvent.Action.REVIEW_DECIDED, item, actor=actor_name(user=user), before=before, after=after
        )
        delivery = _callback_create(decision, prediction)
        if delivery is not None:
            transaction.on_commit(lambda: callback_enqueue(delivery_id=delivery.pk))
    metrics.decision_observe(outcome=outcome)  # committed: callers hold no transaction
    return decision


def _audit_sample(prediction: Prediction) -> bool:
    """Decided automatically and reviewed as well, to measure the model (predictions' sampling)."""
    return prediction.review_reason == Prediction.ReviewReason.AUDIT_SAMPLE


def _final_label(model_label: str, outcome: str) -> str:
    return model_label if outcome == Decision.Outcome.CONFIRMED else label_opposite(model_label)


# --- callbacks --------------------------------------------------------------------------


def _callback_create(decision: Decision, prediction: Prediction) -> CallbackDelivery | None:
    api_key = prediction.api_key
    if api_key is None or not api_key.callback_url:
        return None
    return CallbackDelivery.objects.create(
        decision=decision,
        api_key=api_key,
        url=api_key.callback_url,
        payload={
            "request_id": prediction.request_id,
            "final_label": decision.final_label,
            "decision": decision.outcome,
            "reason": decision.reason,
            "decided_at": decision.decided_at.isoformat(),
            "model_version": prediction.model_version.version,
            # An audit sample was decided automatically long ago; this is its review, and
            # final_label is the analyst's label (the prediction keeps the model's).
            "audit_sample": _audit_sample(prediction),
            "blind": decision.blind,
        },
        next_attempt_at=decision.decided_at,
    )


def callback_enqueue(*, delivery_id: int, countdown: int = 0) -> None:
    from reviews.tasks import callback_deliver  # the tasks module imports this one

    try:
        callback_deliver.apply_async(kwargs={"delivery_id": delivery_id}, countdown=countdown)
    except Exception:  # broker errors vary by transport; the due-callback sweep retries
        logger.warning("callback enqueue failed for delivery %s", delivery_id, exc_info=True)


def backoff_seconds(attempts: int) -> int:
    """5 s, 10 s, 20 s, ... capped: attempt n waits base * 2^(n-1)."""
    return min(
        settings.CALLBACK_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), settings.CALLBACK_BACKOFF_MAX_SECONDS
    )


def callback_deliver(*, delivery_id: int) -> CallbackDelivery:
    """One delivery attempt, logged; schedules the next one or gives up after the last."""
    delivery = CallbackDelivery.objects.select_related("api_key").get(pk=delivery_id)
    if delivery.state != CallbackDelivery.State.PENDING:
        return delivery
    outcome = webhooks.post(
        url=delivery.url,
        payload=delivery.payload,
        secret=delivery.api_key.callback_secret,
        timeout=settings.CALLBACK_TIMEOUT_SECONDS,
    )
    metrics.callback_attempt_observe(ok=outcome.ok)
    now = timezone.now()
    with transaction.atomic():
        delivery = CallbackDelivery.objects.select_for_update().get(pk=delivery_id)
        CallbackAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
        if delivery.state != CallbackDelivery.State.PENDING:
            # Another worker settled it while this one was posting: log the attempt, undo nothing.
            return delivery
        delivery.attempts += 1
        if outcome.ok:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
                CallbackDelivery.State.DELIVERED,
                now,
                None,
            )
        elif delivery.attempts >= settings.CALLBACK_MAX_ATTEMPTS:
            delivery.state, delivery.next_attempt_at = CallbackDelivery.State.DEAD, None
        else:
            delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
        delivery.save(update_fields=["state", "attempts", "delivered_at", "next_attempt_at"])
        if delivery.state != CallbackDelivery.State.PENDING:
            _callback_event(delivery, actor="system:callbacks", status_code=outcome.status_code)
    return delivery


def _callback_event(delivery: CallbackDelivery, *, actor: str, **details: Any) -> None:
    # Keyed by str: the field holds the plain value, which looks up the same as its member.
    actions: dict[str, AuditEvent.Action] = {
        CallbackDelivery.State.DELIVERED: AuditEvent.Action.CALLBACK_DELIVERED,
        CallbackDelivery.State.DEAD: AuditEvent.Action.CALLBACK_DEAD,
        CallbackDelivery.State.PENDING: AuditEvent.Action.CALLBACK_REPLAYED,
    }
    audit_event_record(
        action=actions[delivery.state],
        actor=actor,
        object_type="callback_delivery",
        object_id=delivery.pk,
        request_id=delivery.payload.get("request_id", ""),
        after={"state": delivery.state, "attempts": delivery.attempts, "url": delivery.url, **details},
    )


def callbacks_enqueue_due(*, grace_seconds: int = 60) -> int:
    """Re-enqueue deliveries whose next attempt is overdue (a lost message, a broker outage)."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    due = list(
        CallbackDelivery.objects.filter(
            state=CallbackDelivery.State.PENDING, next_attempt_at__lte=cutoff
        ).values_list("pk", flat=True)[:1000]
    )
    for delivery_id in due:
        callback_enqueue(delivery_id=delivery_id)
    return len(due)


def callback_replay(*, delivery_id: int, actor: str = "system") -> CallbackDelivery:
    """An admin sends a dead (or delivered) callback again, with a fresh attempt budget."""
    with transaction.atomic():
        delivery = CallbackDelivery.objects.select_for_update().get(pk=delivery_id)
        delivery.state, delivery.attempts = CallbackDelivery.State.PENDING, 0
        delivery.next_attempt_at, delivery.delivered_at = timezone.now(), None
        delivery.save(update_fields=["state", "attempts", "next_attempt_at", "delivered_at"])
        _callback_event(delivery, actor=actor)
        transaction.on_commit(lambda: callback_enqueue(delivery_id=delivery_id))
    return delivery
