"""Per-process cached read of the operational switches, for the scoring hot path.

Like the active model in `predictions.registry`: the database is asked at most every
MODEL_REFRESH_SECONDS, so a flip in the admin reaches every process within that time and a
prediction costs no extra query. The flip itself is `services.review_all_predictions_set`.
"""

from __future__ import annotations

import time

from django.conf import settings

from predictions.models import OperationalSettings

_state = {"checked_at": float("-inf"), "review_all": False}


def review_everything() -> bool:
    """Whether every prediction goes to review: the admin switch, or the environment's setting."""
    if settings.REVIEW_ALL_PREDICTIONS:
        return True
    now = time.monotonic()
    if now - _state["checked_at"] >= settings.MODEL_REFRESH_SECONDS:
        stored = OperationalSettings.objects.filter(pk=1).values_list("review_all_predictions", flat=True)
        _state.update(checked_at=now, review_all=bool(stored.first()))
    return _state["review_all"]


def forget() -> None:
    """Ask the database on the next call (after a change in this process, in tests)."""
    _state.update(checked_at=float("-inf"), review_all=False)
