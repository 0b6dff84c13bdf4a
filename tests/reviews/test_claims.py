"""Claiming review items: priority order, leases, expiry and release."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviews import services
from reviews.models import ReviewItem


def _expire_lease(item: ReviewItem) -> None:
    ReviewItem.objects.filter(pk=item.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_it_claims_the_highest_priority_item_first(make_items, analyst):
    items = make_items(5)
    # Make the order explicit rather than trusting the model's scores.
    for rank, item in enumerate(items):
        ReviewItem.objects.filter(pk=item.pk).update(priority=100 - rank)
    ReviewItem.objects.filter(pk=items[3].pk).update(priority=1000)

    claimed = services.review_item_claim_next(user=analyst)

    assert claimed.pk == items[3].pk
    claimed.refresh_from_db()
    assert claimed.state == ReviewItem.State.CLAIMED
    assert claimed.claimed_by == analyst
    assert claimed.claimed_at is not None


def test_the_lease_lasts_review_lease_minutes(make_items, analyst, settings):
    settings.REVIEW_LEASE_MINUTES = 7
    make_items(1)
    before = timezone.now()

    claimed = services.review_item_claim_next(user=analyst)

    claimed.refresh_from_db()
    assert before + timedelta(minutes=7) <= claimed.lease_expires_at <= timezone.now() + timedelta(minutes=7)


def test_an_analyst_holding_a_live_item_gets_that_one_back(make_items, analyst):
    make_items(3)
    first = services.review_item_claim_next(user=analyst)

    again = services.review_item_claim_next(user=analyst)

    assert again.pk == first.pk
    assert ReviewItem.objects.filter(state=ReviewItem.State.CLAIMED).count() == 1


def test_two_analysts_get_different_items(make_items, analyst, other_analyst):
    items = make_items(2)

    mine = services.review_item_claim_next(user=analyst)
    theirs = services.review_item_claim_next(user=other_analyst)

    assert mine.pk == items[0].pk
    assert theirs.pk == items[1].pk


def test_nobody_else_can_claim_an_item_under_a_live_lease(make_items, analyst, other_analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)

    assert services.review_item_claim_next(user=other_analyst) is None
    with pytest.raises(services.NotHolder, match="alice holds this item"):
        services.review_item_claim(item_id=item.pk, user=other_analyst)
    item.refresh_from_db()
    assert item.claimed_by == analyst


def test_claiming_an_item_i_already_hold_keeps_it(make_items, analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)

    again = services.review_item_claim(item_id=item.pk, user=analyst)

    assert again.claimed_by == analyst
    assert again.state == ReviewItem.State.CLAIMED


def test_an_expired_lease_lets_another_analyst_claim_the_item(make_items, analyst, other_analyst):
    (item,) = make_items(1)
    services.review_item_claim_next(user=analyst)
    _expire_lease(item)

    claimed = services.review_item_claim_next(user=other_analyst)

    assert claimed.pk == item.pk
    claimed.refresh_from_db()
    assert claimed.claimed_by == other_analyst
    assert claimed.lease_expires_at > timezone.now()


def test_an_expired_lease_is_not_handed_back_as_held(make_items, analyst):
    items = make_items(2)
    services.review_item_claim(item_id=items[1].pk, user=analyst)
    _expire_lease(items[1])

    claimed = services.review_item_claim_next(user=analyst)

    # Nothing is held any more, so the best available item comes next.
    assert claimed.pk == items[0].pk


def test_a_chosen_item_with_an_expired_lease_can_be_claimed(make_items, analyst, other_analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)
    _expire_lease(item)

    claimed = services.review_item_claim(item_id=item.pk, user=other_analyst)

    assert claimed.claimed_by == other_analyst


def test_expiring_leases_returns_items_to_the_queue(make_items, analyst, other_analyst):
    expired, live = make_items(2)
    services.review_item_claim(item_id=expired.pk, user=analyst)
    services.review_item_claim(item_id=live.pk, user=other_analyst)
    _expire_lease(expired)

    assert services.review_leases_expire() == 1

    expired.refresh_from_db()
    live.refresh_from_db()
    assert expired.state == ReviewItem.State.PENDING
    assert expired.claimed_by is None
    assert expired.claimed_at is None
    assert expired.lease_expires_at is None
    assert live.state == ReviewItem.State.CLAIMED
    assert live.claimed_by == other_analyst


def test_the_holder_can_release_an_item(make_items, analyst, other_analyst):
    (item,) = make_items(1)
    services.review_item_claim_next(user=analyst)

    services.review_item_release(item_id=item.pk, user=analyst)

    item.refresh_from_db()
    assert item.state == ReviewItem.State.PENDING
    assert item.claimed_by is None
    assert item.lease_expires_at is None
    assert services.review_item_claim_next(user=other_analyst).pk == item.pk


def test_someone_else_cannot_release_my_item(make_items, analyst, other_analyst):
    (item,) = make_items(1)
    services.review_item_claim_next(user=analyst)

    with pytest.raises(services.NotHolder):
        services.review_item_release(item_id=item.pk, user=other_analyst)

    item.refresh_from_db()
    assert item.state == ReviewItem.State.CLAIMED
    assert item.claimed_by == analyst


def test_a_pending_item_cannot_be_released(make_items, analyst):
    (item,) = make_items(1)

    with pytest.raises(services.NotHolder):
        services.review_item_release(item_id=item.pk, user=analyst)


def test_an_empty_queue_gives_nothing_to_claim(review_model, analyst):
    assert services.review_item_claim_next(user=analyst) is None
    assert not ReviewItem.objects.exists()


def test_decided_items_are_never_claimed_again(make_items, analyst, other_analyst):
    from tests.reviews.factories import digest_of

    (item,) = make_items(1)
    services.review_item_claim_next(user=analyst)
    services.decision_record(item_id=item.pk, user=analyst, outcome="confirmed", seen_digest=digest_of(item))

    assert services.review_item_claim_next(user=other_analyst) is None
    with pytest.raises(services.AlreadyDecided):
        services.review_item_claim(item_id=item.pk, user=other_analyst)


def test_the_conditional_update_claims_like_the_locking_path(make_items, analyst, other_analyst):
    # The SQLite branch, called directly so it is tested on every database.
    items = make_items(2)

    mine = services._claim_by_conditional_update(analyst)
    theirs = services._claim_by_conditional_update(other_analyst)

    assert [mine.pk, theirs.pk] == [items[0].pk, items[1].pk]
    assert mine.claimed_by == analyst
    assert services._claim_by_conditional_update(analyst) is None


def test_the_scheduled_expiry_task_returns_lapsed_items(make_items, analyst):
    from reviews import tasks

    (item,) = make_items(1)
    services.review_item_claim_next(user=analyst)
    _expire_lease(item)

    assert tasks.review_leases_expire.delay().get() == 1

    item.refresh_from_db()
    assert item.state == ReviewItem.State.PENDING
