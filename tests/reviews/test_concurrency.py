"""Many analysts claiming at once on PostgreSQL: nobody ever gets an item someone else holds."""

import threading
from collections import Counter

import pytest
from django.db import connection

from reviews import services
from reviews.models import Decision, ReviewItem
from tests.reviews.factories import digest_of

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("audit_log_flushable"),
]

ANALYSTS = 8


@pytest.fixture
def analysts(make_user):
    return [make_user("analyst", f"analyst-{n}") for n in range(ANALYSTS)]


def _all_at_once(work, users) -> dict:
    """Run work(user) in one thread per user, released together; each thread has its own connection."""
    start = threading.Barrier(len(users))
    results, errors = {}, []

    def run(user):
        try:
            start.wait(timeout=30)
            results[user.username] = work(user)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a claimer hung"
    assert errors == []
    return results


def test_analysts_working_the_queue_together_never_get_the_same_item(make_items, analysts):
    items = make_items(5 * ANALYSTS)

    def work_the_queue(user) -> list[int]:
        claimed = []
        while (item := services.review_item_claim_next(user=user)) is not None:
            assert item.claimed_by_id == user.pk
            claimed.append(item.pk)
            services.decision_record(
                item_id=item.pk, user=user, outcome="confirmed", seen_digest=digest_of(item)
            )
        return claimed

    claimed = _all_at_once(work_the_queue, analysts)

    every_claim = [pk for pks in claimed.values() for pk in pks]
    assert Counter(every_claim).most_common(1)[0][1] == 1
    assert sorted(every_claim) == sorted(item.pk for item in items)
    assert Decision.objects.count() == len(items)
    reviewers = {d.review_item_id: d.reviewer_name for d in Decision.objects.all()}
    for username, pks in claimed.items():
        assert {reviewers[pk] for pk in pks} <= {username}
    assert not ReviewItem.objects.exclude(state=ReviewItem.State.DECIDED).exists()


def test_more_analysts_than_items_claim_each_item_once(make_items, make_user):
    items = make_items(10)
    users = [make_user("analyst", f"claimer-{n}") for n in range(16)]

    claimed = _all_at_once(lambda user: services.review_item_claim_next(user=user), users)

    won = {username: item.pk for username, item in claimed.items() if item is not None}
    assert sorted(won.values()) == sorted(item.pk for item in items)
    for item in ReviewItem.objects.select_related("claimed_by"):
        assert won[item.claimed_by.username] == item.pk


def test_the_conditional_update_never_hands_out_an_item_twice(make_items, analysts):
    # The SQLite branch, raced on PostgreSQL where threads really do run side by side.
    items = make_items(5 * ANALYSTS)

    def claim_five(user) -> list[int | None]:
        return [getattr(services._claim_by_conditional_update(user), "pk", None) for _ in range(5)]

    claimed = _all_at_once(claim_five, analysts)

    every_claim = [pk for pks in claimed.values() for pk in pks if pk is not None]
    assert Counter(every_claim).most_common(1)[0][1] == 1
    assert sorted(every_claim) == sorted(item.pk for item in items)
    for item in ReviewItem.objects.select_related("claimed_by"):
        assert item.pk in claimed[item.claimed_by.username]
