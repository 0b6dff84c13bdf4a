# The audit log records what the review queue does: its tests build items as the queue's do.
from tests.reviews.conftest import analyst, analyst_client, make_items, other_analyst, review_model

__all__ = ["analyst", "analyst_client", "make_items", "other_analyst", "review_model"]
