"""Per-process cache of the active model: the artifact loaded once per version, its settings fresh.

Every MODEL_REFRESH_SECONDS each process reads the active version's row again: another version
activated loads that one's artifact; the same version with a new review threshold (or audit
sample rate) keeps its scorer and scores with the new settings. So a change made in any process
reaches every other within MODEL_REFRESH_SECONDS, and the one that made it at once (`forget`).
The challenger (a version shadowing live traffic) is looked up the same way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from predictions import selectors
from predictions.models import ModelArtifact, ModelVersion
from predictions.scoring import ArtifactError, Scorer, load_artifact, load_artifact_bytes
from reviewapp.caching import RefreshedValue
from reviewapp.errors import Unavailable


class NoActiveModel(Unavailable):
    """No model version is active, so nothing can be scored."""


@dataclass(frozen=True)
class ActiveModel:
    version: ModelVersion
    scorer: Scorer


@dataclass
class _Loaded:
    model: ActiveModel
    checked: ModelVersion  # the last read of the row found to match the model's


_lock = threading.Lock()
_loaded: dict[int, _Loaded] = {}
# The active version's row: read from the database at most every MODEL_REFRESH_SECONDS.
_active = RefreshedValue(selectors.model_version_active, seconds=lambda: settings.MODEL_REFRESH_SECONDS)


def _challenger_row() -> ModelVersion | None:
    # At most one row: a database constraint allows no second shadow version.
    return ModelVersion.objects.filter(status=ModelVersion.Status.SHADOW).first()


# The challenger's row (lifecycle's shadowing), read like the active one: the scoring path asks
# whether one exists on every commit group, so the answer must cost no query per request.
_challenger = RefreshedValue(_challenger_row, seconds=lambda: settings.MODEL_REFRESH_SECONDS)
_challenger_loaded: dict[int, Scorer] = {}


def artifact_full_path(version: ModelVersion) -> Path:
    """Where a version's file copy is, or was before the database held artifacts."""
    return Path(settings.MODEL_ARTIFACT_DIR) / version.artifact_path


def load_version(version: ModelVersion) -> Scorer:
    """Verify the artifact's checksum and build its scorer (raises ArtifactError).

    The database's copy is read when there is one; a version registered before the database
    held artifacts (and not copied in since) is read from its file under MODEL_ARTIFACT_DIR.
    """
    stored = ModelArtifact.objects.filter(model_version_id=version.pk).values_list("data", flat=True).first()
    if stored is not None:
        source = f"{version.artifact_path} (stored in the database)"
        bundle = load_artifact_bytes(data=stored, expected_sha256=version.sha256, source=source)
    else:
        path = artifact_full_path(version)
        if not path.exists():
            raise ArtifactError(f"model artifact {path} is missing, and the database holds no copy")
        bundle = load_artifact(path=path, expected_sha256=version.sha256)
    return Scorer(bundle)


def get_active_model() -> ActiveModel:
    """The active model for this process; asks the database at most every MODEL_REFRESH_SECONDS."""
    version = _active.get()
    if version is None:
        raise NoActiveModel("no model version is active; train one with `manage.py train_model --activate`")
    cached = _loaded.get(version.pk)
    if cached is not None and cached.checked is version:
        return cached.model  # this read of the row is the one already checked
    with _lock:
        cached = _loaded.get(version.pk)
        if cached is None or not _same_row(cached.model.version, version):
            # A version's artifact never changes, so a changed row (a new review threshold)
            # keeps its scorer; another version is loaded, and only the newest kept, so a
            # retired model's memory is returned.
            scorer = cached.model.scorer if cached is not None else load_version(version)
            _loaded.clear()
            cached = _loaded[version.pk] = _Loaded(
                ActiveModel(version=version, scorer=scorer), checked=version
            )
        cached.checked = version
        return cached.model


def challenger_present() -> bool:
    """Whether a version shadows live traffic; asks the database at most every
    MODEL_REFRESH_SECONDS (the hot path's only cost of shadowing when none does)."""
    return _challenger.get() is not None


def challenger_version() -> ModelVersion | None:
    """The challenger's row as this process last read it (see challenger_present)."""
    return _challenger.get()


def scorer_for(version: ModelVersion) -> Scorer:
    """A loaded, checksummed scorer for any version, kept per process by version (a version's
    artifact never changes); only the last one is kept, so a replaced challenger's memory is
    returned. For the shadow worker; the hot path uses get_active_model."""
    with _lock:
        scorer = _challenger_loaded.get(version.pk)
        if scorer is None:
            scorer = load_version(version)
            _challenger_loaded.clear()
            _challenger_loaded[version.pk] = scorer
        return scorer


def _same_row(cached: ModelVersion, fresh: ModelVersion) -> bool:
    return all(
        getattr(cached, f.attname) == getattr(fresh, f.attname) for f in ModelVersion._meta.concrete_fields
    )


def active_model_readiness() -> dict[str, Any]:
    """/readyz's "model" check: loads the active artifact if this process has not yet, verifying
    its checksum; raises NoActiveModel or ArtifactError when it cannot score."""
    active = get_active_model()
    return {"version": active.version.version, "sha256": active.version.sha256}


def forget() -> None:
    """Drop the cache so the next call asks the database (after an activation, in tests)."""
    with _lock:
        _loaded.clear()
        _active.clear()
        _challenger_loaded.clear()
        _challenger.clear()
