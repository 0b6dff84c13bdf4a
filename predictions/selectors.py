"""Reads: API keys, predictions."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.conf import settings
from django.db.models import Field, Max, Min, Model, QuerySet

from predictions.models import ApiKey, ModelVersion, Prediction
from reviewapp.caching import ExpiringCache

API_KEY_PREFIX = "ra_"
# Valid keys seen recently, by hash: spares the hot path a query per request. A revocation
# reaches other processes within API_KEY_CACHE_SECONDS.
_live_keys: ExpiringCache[str, ApiKey] = ExpiringCache(max_size=10_000)


def api_key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_for_secret(*, secret: str) -> ApiKey | None:
    """The unrevoked key a presented secret belongs to, or None. Constant-time comparison.

    An expired key is returned: the caller refuses it with its own message.
    """
    if not secret.startswith(API_KEY_PREFIX) or "." not in secret:
        return None
    prefix = secret[len(API_KEY_PREFIX) :].split(".", 1)[0]
    if not (prefix.isascii() and prefix.isalnum()):
        return None  # not one of ours, and PostgreSQL would refuse a NUL in the query
    digest = api_key_hash(secret)
    cached = _live_keys.get(digest)
    if cached is not None:
        return cached
    api_key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        return None
    _live_keys.set(digest, api_key, seconds=settings.API_KEY_CACHE_SECONDS)
    return api_key


def api_key_cache_clear() -> None:
    """Forget cached keys in this process (after a revocation or rotation here)."""
    _live_keys.clear()


def predictions_visible_to(*, api_key: ApiKey | None) -> QuerySet[Prediction]:
    """An API client sees only its own predictions; people with a staff role see all."""
    queryset = Prediction.objects.select_related("model_version", "explanation", "review_item__decision")
    if api_key is not None:
        queryset = queryset.filter(api_key=api_key)
    return queryset


def predictions_for_audit() -> QuerySet[Prediction]:
    """Every prediction, with what the audit pages show beside it, newest first."""
    return Prediction.objects.select_related(
        "model_version", "explanation", "review_item__decision"
    ).order_by("-created_at", "-pk")


@dataclass(frozen=True)
class VersionSpan:
    version_id: int
    first: datetime
    last: datetime


def model_version_span(*, version: int) -> VersionSpan | None:
    """When a model version made its first and last prediction; None if it made none.

    Two probes of the (model_version, created_at) index, whatever the table's size.
    """
    version_id = ModelVersion.objects.filter(version=version).values_list("id", flat=True).first()
    if version_id is None:
        return None
    span = Prediction.objects.filter(model_version_id=version_id).aggregate(
        first=Min("created_at"), last=Max("created_at")
    )
    if span["first"] is None:
        return None
    return VersionSpan(version_id, span["first"], span["last"])


def reviewer_last_decided_at(*, reviewer_name: str) -> datetime | None:
    """When a reviewer made their last decision; None if they made none. No join."""
    decisions = _decision_model()._default_manager
    return decisions.filter(reviewer_name=reviewer_name).aggregate(last=Max("decided_at"))["last"]


def decision_outcome_choices() -> list[tuple[str, str]]:
    """The outcomes a decision can have, for the search's decision filter."""
    outcome = cast(Field, _decision_model()._meta.get_field("outcome"))
    return list(outcome.flatchoices)


def _decision_model() -> type[Model]:
    # Decisions belong to reviews, an app above this one that it may not import. The search
    # reaches them as its lookups do, through the relations reviews declares on Prediction.
    review_item = _related_model(Prediction, "review_item")
    return _related_model(review_item, "decision")


def _related_model(model: type[Model], name: str) -> type[Model]:
    related = model._meta.get_field(name).related_model
    if not isinstance(related, type):
        raise LookupError(f"{model.__name__}.{name} is not a relation")
    return related


def model_version_active() -> ModelVersion | None:
    """The one active model version (a database constraint allows no more), or None."""
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
