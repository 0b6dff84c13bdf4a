"""/metrics: Prometheus text, who may read it, and what the app counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from predictions import services as prediction_services
from reviews import services as review_services
from reviews.models import ReviewItem
from tests.ops.conftest import parse_metrics, sample
from tests.predictions.helpers import PREDICT_URL, post_json
from tests.reviews.factories import digest_of, routed_items
from tests.reviews.receivers import closed_port_url

# --- who may read it -----------------------------------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.9", "172.20.0.5"])
def test_it_answers_loopback_and_private_networks(db, client, address):
    response = client.get("/metrics", REMOTE_ADDR=address)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert parse_metrics(response.content.decode())


def test_it_refuses_a_public_address_without_the_token(db, client, settings):
    settings.METRICS_TOKEN = "scrape-token"

    response = client.get("/metrics", REMOTE_ADDR="8.8.8.8")

    assert response.status_code == 403
    assert b"reviewapp_" not in response.content


def test_it_answers_a_public_address_with_the_bearer_token(db, client, settings):
    settings.METRICS_TOKEN = "scrape-token"

    response = client.get("/metrics", REMOTE_ADDR="8.8.8.8", HTTP_AUTHORIZATION="Bearer scrape-token")

    assert response.status_code == 200
    assert parse_metrics(response.content.decode())


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Bearer ", "Basic scrape-token", "scrape-token"])
def test_it_refuses_a_wrong_token(db, client, settings, header):
    settings.METRICS_TOKEN = "scrape-token"

    response = client.get("/metrics", REMOTE_ADDR="8.8.8.8", HTTP_AUTHORIZATION=header)

    assert response.status_code == 403


def test_no_token_is_accepted_when_none_is_configured(db, client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", REMOTE_ADDR="8.8.8.8", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 403


def test_a_request_relayed_by_a_local_proxy_needs_the_token(db, client, settings):
    # Behind a reverse proxy on the same host every request comes from 127.0.0.1.
    settings.METRICS_TOKEN = "scrape-token"

    relayed = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="8.8.8.8")
    with_token = client.get(
        "/metrics",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="8.8.8.8",
        HTTP_AUTHORIZATION="Bearer scrape-token",
    )

    assert relayed.status_code == 403
    assert with_token.status_code == 200


# --- what it counts ------------------------------------------------------------------------


def test_requests_are_timed_and_counted_by_route_name(db, client, scrape):
    before = scrape()

    client.get("/healthz")
    client.get("/reviews/items/12345/")  # a login redirect, counted under the route's name
    client.get("/no/such/page")

    after = scrape()
    count = "reviewapp_http_request_duration_seconds_count"
    assert (
        sample(after, count, route="healthz", method="GET")
        == sample(before, count, route="healthz", method="GET") + 1
    )
    responses = "reviewapp_http_responses_total"
    for labels in (
        {"route": "healthz", "method": "GET", "status": "200"},
        {"route": "reviews:item", "method": "GET", "status": "302"},
        {"route": "<unmatched>", "method": "GET", "status": "404"},
    ):
        assert sample(after, responses, **labels) == sample(before, responses, **labels) + 1
    assert not any("12345" in str(labels) for _, labels in after)


def test_a_scored_prediction_is_counted_with_its_label_routing_and_version(
    active_model, api_client, transactions, scrape
):
    before = scrape()

    response = post_json(api_client, PREDICT_URL, {"features": transactions(1)[0]})

    assert response.status_code == 201
    prediction = response.json()
    after = scrape()
    version = str(active_model.version)
    labels = {"label": prediction["label"], "routing": prediction["routing"], "model_version": version}
    assert sample(after, "reviewapp_predictions_total", **labels) == (
        sample(before, "reviewapp_predictions_total", **labels) + 1
    )
    for histogram in ("reviewapp_prediction_confidence", "reviewapp_prediction_score"):
        assert sample(after, f"{histogram}_count", model_version=version) == (
            sample(before, f"{histogram}_count", model_version=version) + 1
        )
    assert sample(after, "reviewapp_prediction_score_sum", model_version=version) == pytest.approx(
        sample(before, "reviewapp_prediction_score_sum", model_version=version) + prediction["score"]
    )


def test_a_rejected_prediction_is_not_counted(active_model, api_client, transactions, scrape):
    features = transactions(1)[0]
    features.pop(next(iter(features)))
    before = scrape()

    response = post_json(api_client, PREDICT_URL, {"features": features})

    assert response.status_code == 400
    after = scrape()
    total = "reviewapp_predictions_total"
    assert sum(v for (name, _), v in after.items() if name == total) == sum(
        v for (name, _), v in before.items() if name == total
    )


def test_queue_depth_and_oldest_age_come_from_the_database(review_model, transactions, scrape, settings):
    assert sample(scrape(), "reviewapp_review_queue_oldest_age_seconds") == 0

    items = routed_items(records=transactions(3))
    ReviewItem.objects.filter(pk=items[0].pk).update(created_at=timezone.now() - timedelta(minutes=10))

    samples = scrape()
    assert sample(samples, "reviewapp_review_queue_items", state="pending") == 3
    assert sample(samples, "reviewapp_review_queue_items", state="claimed") == 0
    assert 600 <= sample(samples, "reviewapp_review_queue_oldest_age_seconds") < 660
    assert sample(samples, "reviewapp_review_sla_seconds") == settings.REVIEW_SLA_MINUTES * 60


def test_decisions_are_counted_by_outcome_and_failed_callbacks_too(
    review_model, transactions, make_user, scrape, django_capture_on_commit_callbacks, settings
):
    settings.CALLBACK_MAX_ATTEMPTS = 8
    api_key, _ = prediction_services.api_key_create(name="shop", callback_url=closed_port_url())
    first, second = routed_items(records=transactions(2), api_key=api_key)
    analyst = make_user("analyst", "alice")
    before = scrape()

    for item, outcome, reason in ((first, "confirmed", ""), (second, "overridden", "data_error")):
        review_services.review_item_claim(item_id=item.pk, user=analyst)
        with django_capture_on_commit_callbacks(execute=True):  # the callback fails: refused
            review_services.decision_record(
                item_id=item.pk, user=analyst, outcome=outcome, reason=reason, seen_digest=digest_of(item)
            )

    after = scrape()
    decisions = "reviewapp_review_decisions_total"
    for outcome in ("confirmed", "overridden"):
        assert sample(after, decisions, outcome=outcome) == sample(before, decisions, outcome=outcome) + 1
    failures = "reviewapp_callback_failures_total"
    assert sample(after, failures) == sample(before, failures) + 2
    assert sample(after, "reviewapp_callback_deliveries_retrying") == 2
    assert sample(after, "reviewapp_review_queue_items", state="pending") == 0
