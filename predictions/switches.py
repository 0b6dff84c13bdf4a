"""Per-process cached read of the operational switches, for the scoring hot path.

Like the active model in `predictions.registry`: the database is asked at most every
MODEL_REFRESH_SECONDS, so a flip in the admin reaches every process within that time and a
prediction costs no extra query. The flip itself is `services.review_all_predictions_set`.
"""

from __future__ import annotations

from django.conf import settings

from predictions.models import OperationalSettings
from reviewapp.caching import RefreshedValue


def _review_all_stored() -> bool:
    stored = OperationalSettings.objects.filter(pk=1).values_list("review_all_predictions", flat=True)
    return bool(stored.first())


_review_all = RefreshedValue(_review_all_stored, seconds=lambda: settings.MODEL_REFRESH_SECONDS)


def review_everything() -> bool:
    """Whether every prediction goes to review: the admin switch, or the environment's setting."""
    if settings.REVIEW_ALL_PREDICTIONS:
        return True
    return _review_all.get()


def forget() -> None:
    """Ask the database on the next call (after a change in this process, in tests)."""
    _review_all.clear()
