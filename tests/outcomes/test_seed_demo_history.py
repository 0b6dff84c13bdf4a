"""`make run`'s history: past traffic decided by the demo analysts, outcomes arriving late."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from audit.selectors import audit_chain_verify
from outcomes.models import Outcome
from predictions.models import Prediction
from reviews.models import Decision, ReviewItem

DAYS = 12


def run(name: str, **options) -> str:
    out = StringIO()
    call_command(name, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def demo(transactional_db, audit_log_flushable, settings):
    # Transactional: routing into the queue waits for each commit, as it does in `make run`.
    settings.DEBUG = settings.DEMO_MODE = True
    settings.AUDIT_SAMPLE_RATE, settings.BLIND_REVIEW_RATE = 0.05, 0.3
    run("seed_demo", transactions=20, training_rows=3000)


def past():
    return Prediction.objects.filter(request_id__startswith="past-")


def test_it_refuses_outside_demo_mode(db, settings):
    settings.DEBUG, settings.DEMO_MODE = False, True

    with pytest.raises(CommandError, match="only with DEBUG=1 and DEMO_MODE=1"):
        run("seed_demo_history")


def test_it_needs_the_demo_model_and_key_first(db, settings):
    settings.DEBUG = settings.DEMO_MODE = True

    with pytest.raises(CommandError, match="run seed_demo first"):
        run("seed_demo_history")


def test_the_history_spreads_over_past_days_with_every_queued_item_decided(demo):
    output = run("seed_demo_history", days=DAYS, per_day=60)

    assert f"{DAYS * 60} transactions over {DAYS} days" in output
    assert past().count() == DAYS * 60
    assert len({created.date() for created in past().values_list("created_at", flat=True)}) == DAYS
    history_items = ReviewItem.objects.filter(prediction__request_id__startswith="past-")
    assert history_items.exists()
    assert not history_items.exclude(state=ReviewItem.State.DECIDED).exists()
    # Both kinds of review happened, and the audit samples kept their automatic decision.
    assert history_items.filter(blind=True).exists() and history_items.filter(blind=False).exists()
    samples = past().filter(review_reason=Prediction.ReviewReason.AUDIT_SAMPLE)
    assert samples.exists()
    assert not samples.exclude(status=Prediction.Status.DECIDED).exists()
    # Three analysts, each taking time over an item.
    decisions = Decision.objects.filter(review_item__in=history_items).select_related("review_item")
    assert {d.reviewer_name for d in decisions} == {"analyst", "ana.lopez", "ben.okafor"}
    assert all(d.decided_at > d.review_item.claimed_at for d in decisions)


def test_outcomes_arrive_after_their_transactions_and_none_from_the_future(demo):
    run("seed_demo_history", days=DAYS, per_day=60)

    outcomes = Outcome.objects.select_related("prediction")
    assert outcomes.exists()
    assert all(o.prediction.created_at < o.occurred_at < o.received_at for o in outcomes)
    assert past().exclude(outcome_label=None).count() == outcomes.values("prediction").distinct().count()
    assert not past().filter(outcome_occurred_at__lt=F("created_at")).exists()
    # The most recent days have fewer outcomes yet than the oldest: labels lag.
    created = list(past().order_by("created_at", "pk").values_list("created_at", "outcome_label"))
    oldest, newest = created[: len(created) // 3], created[-len(created) // 3 :]
    assert sum(label is not None for _, label in newest) < sum(label is not None for _, label in oldest)


def test_the_history_leaves_an_audit_chain_that_verifies_and_a_second_run_adds_nothing(demo):
    run("seed_demo_history", days=DAYS, per_day=60)
    count = Prediction.objects.count()

    run("seed_demo_history", days=DAYS, per_day=60)

    assert Prediction.objects.count() == count
    assert audit_chain_verify().ok
