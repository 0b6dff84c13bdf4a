"""The queue pages: who may see them, counts, filters, pagination, SLA and claiming."""

from datetime import timedelta

import pytest
from django.utils import timezone

from predictions import services as prediction_services
from predictions.models import ModelVersion
from reviews import services
from reviews.models import ReviewItem
from tests.reviews.pages import count, listed

GET_URLS = ["/reviews/", "/reviews/mine/", "/reviews/counts/", "/reviews/items/{pk}/"]
POST_URLS = [
    "/reviews/next/",
    "/reviews/items/{pk}/claim/",
    "/reviews/items/{pk}/release/",
    "/reviews/items/{pk}/decide/",
]


def _request_ids(items) -> list[str]:
    return [item.prediction.request_id for item in items]


def _age(items, minutes: int) -> None:
    ReviewItem.objects.filter(pk__in=[i.pk for i in items]).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


@pytest.mark.parametrize("url", GET_URLS)
def test_anonymous_visitors_are_sent_to_the_login_page(client, make_items, url):
    (item,) = make_items(1)
    path = url.format(pk=item.pk)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("url", POST_URLS)
def test_anonymous_posts_are_sent_to_the_login_page(client, make_items, url):
    (item,) = make_items(1)

    response = client.post(url.format(pk=item.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    item.refresh_from_db()
    assert item.state == ReviewItem.State.PENDING


@pytest.mark.parametrize("role", ["auditor", None])
def test_people_without_the_analyst_role_are_refused_everywhere(client, make_user, make_items, role):
    (item,) = make_items(1)
    client.force_login(make_user(role))

    for url in GET_URLS:
        assert client.get(url.format(pk=item.pk)).status_code == 403, url
    for url in POST_URLS:
        assert client.post(url.format(pk=item.pk)).status_code == 403, url

    item.refresh_from_db()
    assert item.state == ReviewItem.State.PENDING


def test_admins_may_work_the_queue(client, make_user, make_items):
    items = make_items(2)
    client.force_login(make_user("admin"))

    response = client.get("/reviews/")

    assert response.status_code == 200
    assert listed(response) == _request_ids(items)


@pytest.mark.parametrize("url", POST_URLS)
def test_post_only_urls_refuse_get(analyst_client, make_items, url):
    (item,) = make_items(1)

    response = analyst_client.get(url.format(pk=item.pk))

    assert response.status_code == 405
    item.refresh_from_db()
    assert item.state == ReviewItem.State.PENDING


def test_the_queue_lists_open_items_highest_priority_first_with_counts(
    analyst_client, make_items, other_analyst
):
    items = make_items(6)
    services.review_item_claim(item_id=items[1].pk, user=other_analyst)
    _age(items[4:], minutes=45)

    response = analyst_client.get("/reviews/")

    assert response.status_code == 200
    assert listed(response) == _request_ids(items)
    assert (count(response, "Pending"), count(response, "Claimed"), count(response, "Past SLA")) == (5, 1, 2)
    page = response.content.decode()
    assert "held by bob" in page
    first = items[0].prediction
    assert f"{first.score:.3f}" in page
    assert f"{first.confidence:.3f}" in page
    assert f"{items[0].amount:.2f}" in page
    assert f"v{first.model_version.version}" in page


def test_decided_items_are_not_listed(analyst_client, analyst, make_items):
    from tests.reviews.factories import digest_of

    items = make_items(3)
    claimed = services.review_item_claim_next(user=analyst)
    services.decision_record(
        item_id=claimed.pk, user=analyst, outcome="confirmed", seen_digest=digest_of(claimed)
    )

    response = analyst_client.get("/reviews/")

    assert response.status_code == 200
    assert listed(response) == _request_ids(items[1:])
    assert count(response, "Pending") == 2


def test_items_past_the_sla_are_marked(analyst_client, make_items, settings):
    settings.REVIEW_SLA_MINUTES = 30
    old, young = make_items(2)
    _age([old], minutes=31)
    _age([young], minutes=29)

    response = analyst_client.get("/reviews/")

    assert response.status_code == 200
    rows = response.content.decode().split("<tr")[2:]
    marked = {row for row in rows if "past SLA" in row and 'class="overdue"' in row}
    assert len(rows) == 2
    assert len(marked) == 1
    assert old.prediction.request_id in marked.pop()
    assert count(response, "Past SLA") == 1


def test_amount_filters_narrow_the_list(analyst_client, make_items):
    items = make_items(10)
    amounts = sorted(item.amount for item in items)
    low, high = (amounts[2] + amounts[3]) / 2, (amounts[6] + amounts[7]) / 2

    response = analyst_client.get("/reviews/", {"amount_min": low, "amount_max": high})

    assert response.status_code == 200
    expected = [i.prediction.request_id for i in items if low <= i.amount <= high]
    assert len(expected) == 4
    assert listed(response) == expected


def test_score_filters_narrow_the_list(analyst_client, make_items):
    items = make_items(10)
    scores = sorted(item.prediction.score for item in items)
    low, high = (scores[1] + scores[2]) / 2, (scores[4] + scores[5]) / 2

    response = analyst_client.get("/reviews/", {"score_min": low, "score_max": high})

    assert response.status_code == 200
    expected = [i.prediction.request_id for i in items if low <= i.prediction.score <= high]
    assert len(expected) == 3
    assert listed(response) == expected


def test_the_model_version_filter_narrows_the_list(analyst_client, make_items, register_model):
    first = make_items(2)
    newer = register_model(activate=False)
    ModelVersion.objects.filter(pk=newer.pk).update(review_threshold=1.0)
    prediction_services.model_version_activate(version=newer.version, actor="test")
    second = make_items(3, seed=6)
    assert {i.prediction.model_version_id for i in second} == {newer.pk}

    response = analyst_client.get("/reviews/", {"model_version": newer.version})
    older = analyst_client.get("/reviews/", {"model_version": first[0].prediction.model_version.version})

    assert response.status_code == older.status_code == 200
    assert sorted(listed(response)) == sorted(_request_ids(second))
    assert sorted(listed(older)) == sorted(_request_ids(first))


def test_the_age_filters_narrow_the_list(analyst_client, make_items):
    items = make_items(5)
    _age(items[:2], minutes=45)
    _age(items[2:3], minutes=20)

    older_than_10 = analyst_client.get("/reviews/", {"min_age_minutes": 10})
    overdue = analyst_client.get("/reviews/", {"overdue": "on"})

    assert older_than_10.status_code == overdue.status_code == 200
    assert sorted(listed(older_than_10)) == sorted(_request_ids(items[:3]))
    assert sorted(listed(overdue)) == sorted(_request_ids(items[:2]))


@pytest.mark.parametrize(
    "query",
    [
        {"min_age_minutes": "1e20"},
        {"min_age_minutes": "99999999999"},
        {"amount_min": "lots"},
        {"model_version": "999"},
        {"page": "last-but-one"},
    ],
)
def test_nonsense_filters_do_not_break_the_page(analyst_client, make_items, query):
    make_items(2)

    response = analyst_client.get("/reviews/", query)

    assert response.status_code == 200
    assert "<table" in response.content.decode()


def test_the_queue_is_paginated(analyst_client, make_items, settings):
    settings.REVIEW_PAGE_SIZE = 3
    items = make_items(7)

    first = analyst_client.get("/reviews/")
    last = analyst_client.get("/reviews/", {"page": 3})

    assert first.status_code == last.status_code == 200
    assert listed(first) == _request_ids(items[:3])
    assert listed(last) == _request_ids(items[6:])
    assert "Page 1 of 3 (7 items)" in first.content.decode()
    assert 'href="?page=2" rel="next"' in first.content.decode()


def test_pagination_links_keep_the_filters(analyst_client, make_items, settings):
    settings.REVIEW_PAGE_SIZE = 2
    items = make_items(6)
    _age(items, minutes=45)

    response = analyst_client.get("/reviews/", {"overdue": "on"})

    assert response.status_code == 200
    assert 'href="?overdue=on&page=2" rel="next"' in response.content.decode()


def test_an_htmx_request_gets_only_the_table(analyst_client, make_items):
    items = make_items(2)

    response = analyst_client.get("/reviews/", {"score_min": 0}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith("<table")
    assert "<html" not in page
    assert listed(response) == _request_ids(items)
    assert [t.name for t in response.templates] == ["reviews/partials/queue_table.html"]


def test_the_counts_partial_reports_the_queue(analyst_client, make_items, analyst):
    make_items(3)
    services.review_item_claim_next(user=analyst)

    response = analyst_client.get("/reviews/counts/")

    assert response.status_code == 200
    assert (count(response, "Pending"), count(response, "Claimed"), count(response, "Past SLA")) == (2, 1, 0)


def test_my_items_shows_only_what_i_hold(analyst_client, analyst, other_analyst, make_items):
    items = make_items(3)
    services.review_item_claim(item_id=items[2].pk, user=analyst)
    services.review_item_claim(item_id=items[0].pk, user=other_analyst)

    response = analyst_client.get("/reviews/mine/")

    assert response.status_code == 200
    assert listed(response) == _request_ids(items[2:])


def test_next_claims_the_best_item_and_opens_it(analyst_client, analyst, make_items):
    items = make_items(3)

    response = analyst_client.post("/reviews/next/")

    assert response.status_code == 302
    assert response["Location"] == f"/reviews/items/{items[0].pk}/"
    items[0].refresh_from_db()
    assert items[0].state == ReviewItem.State.CLAIMED
    assert items[0].claimed_by == analyst


def test_next_on_an_empty_queue_returns_to_the_queue(analyst_client, review_model):
    response = analyst_client.post("/reviews/next/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [("/reviews/", 302)]
    assert "The queue is empty" in response.content.decode()
