"""Per-process cache of the active model: loaded once, refreshed when another is activated."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from predictions import selectors
from predictions.models import ModelVersion
from predictions.scoring import Scorer, load_artifact
from reviewapp.caching import RefreshedValue
from reviewapp.errors import Unavailable


class NoActiveModel(Unavailable):
    """No model version is active, so nothing can be scored."""


@dataclass(frozen=True)
class ActiveModel:
    version: ModelVersion
    scorer: Scorer


_lock = threading.Lock()
_loaded: dict[int, ActiveModel] = {}
# Which version is active: asked of the database at most every MODEL_REFRESH_SECONDS.
_active_id = RefreshedValue(selectors.model_version_active_id, seconds=lambda: settings.MODEL_REFRESH_SECONDS)


def artifact_full_path(version: ModelVersion) -> Path:
    return Path(settings.MODEL_ARTIFACT_DIR) / version.artifact_path


def load_version(version: ModelVersion) -> Scorer:
    """Verify the artifact's checksum and build its scorer (raises ArtifactError)."""
    bundle = load_artifact(path=artifact_full_path(version), expected_sha256=version.sha256)
    return Scorer(bundle)


def get_active_model() -> ActiveModel:
    """The active model for this process; asks the database at most every MODEL_REFRESH_SECONDS."""
    version_id = _active_id.get()
    if version_id is None:
        raise NoActiveModel("no model version is active; train one with `manage.py train_model --activate`")
    cached = _loaded.get(version_id)
    if cached is not None:
        return cached
    with _lock:
        if version_id not in _loaded:
            version = ModelVersion.objects.get(pk=version_id)
            # Keep only the newest load: a retired model's memory is returned.
            _loaded.clear()
            _loaded[version_id] = ActiveModel(version=version, scorer=load_version(version))
        return _loaded[version_id]


def active_model_readiness() -> dict[str, Any]:
    """/readyz's "model" check: loads the active artifact if this process has not yet, verifying
    its checksum; raises NoActiveModel or ArtifactError when it cannot score."""
    active = get_active_model()
    return {"version": active.version.version, "sha256": active.version.sha256}


def forget() -> None:
    """Drop the cache so the next call asks the database (after an activation, in tests)."""
    with _lock:
        _loaded.clear()
        _active_id.clear()
