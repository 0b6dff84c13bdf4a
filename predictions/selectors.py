"""Reads: API keys, predictions."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Max, Min, QuerySet

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


def _active_versions() -> QuerySet[ModelVersion]:
    # At most one row: a database constraint allows no second active version.
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)


def model_version_active() -> ModelVersion | None:
    """The one active model version, or None."""
    return _active_versions().first()
