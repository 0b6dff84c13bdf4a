"""Routing unsure predictions into the review queue, with Celery running tasks in-process."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from predictions import services
from predictions.models import Prediction
from reviews import services as review_services
from reviews.models import ReviewItem
from reviews.tasks import review_items_route
from tests.predictions.helpers import BATCH_URL, PREDICT_URL, post_json


def test_an_unsure_prediction_becomes_one_review_item_once_committed(
    active_model, api_client, unsure_features, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_json(api_client, PREDICT_URL, {"features": unsure_features})

    assert response.status_code == 201
    assert response.json()["routing"] == "review"
    assert len(callbacks) == 1
    item = ReviewItem.objects.get()
    assert item.prediction.request_id == response.json()["request_id"]
    assert item.state == ReviewItem.State.PENDING
    assert item.priority > 0
    assert item.prediction.routing_state == Prediction.RoutingState.DONE
    assert item.prediction.routed_at is not None


def test_nothing_is_routed_before_the_prediction_commits(active_model, api_client, unsure_features):
    response = post_json(api_client, PREDICT_URL, {"features": unsure_features})

    assert response.status_code == 201
    assert not ReviewItem.objects.exists()
    assert Prediction.objects.get().routing_state == Prediction.RoutingState.PENDING


def test_a_sure_prediction_is_not_routed(
    active_model, api_client, sure_features, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_json(api_client, PREDICT_URL, {"features": sure_features})

    assert response.status_code == 201
    assert response.json()["routing"] == "auto"
    assert callbacks == []
    assert not ReviewItem.objects.exists()


def test_routing_twice_creates_no_second_item(
    active_model, api_client, unsure_features, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_json(api_client, PREDICT_URL, {"features": unsure_features})
    prediction = Prediction.objects.get()

    assert review_services.review_items_route(prediction_ids=[prediction.pk]) == 0
    Prediction.objects.filter(pk=prediction.pk).update(routing_state=Prediction.RoutingState.PENDING)
    assert review_services.review_items_route(prediction_ids=[prediction.pk]) == 1
    assert ReviewItem.objects.filter(prediction=prediction).count() == 1


def test_the_task_routes_what_it_is_given(active_model, api_client, features_by_confidence):
    items = [{"features": row} for row in features_by_confidence["unsure"][:3]]
    post_json(api_client, BATCH_URL, {"items": items})
    ids = list(Prediction.objects.values_list("pk", flat=True))

    review_items_route.delay(prediction_ids=ids)

    assert ReviewItem.objects.count() == 3
    assert set(Prediction.objects.values_list("routing_state", flat=True)) == {"done"}


def test_predictions_sends_routing_to_the_task_by_the_name_reviews_registers():
    # predictions may not import reviews: it finds the task in Celery's registry by this name.
    assert review_items_route.name == services.ROUTING_TASK


def test_a_review_threshold_of_one_routes_everything(
    activate_with_threshold, api_client, transactions, django_capture_on_commit_callbacks
):
    activate_with_threshold(1.0)
    items = [{"features": row} for row in transactions(20)]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, BATCH_URL, {"items": items})

    assert response.status_code == 201
    assert {result["routing"] for result in response.json()["results"]} == {"review"}
    assert ReviewItem.objects.count() == 20


def test_a_review_threshold_of_one_half_routes_nothing(
    activate_with_threshold, api_client, features_by_confidence, django_capture_on_commit_callbacks
):
    activate_with_threshold(0.5)
    items = [{"features": row} for row in features_by_confidence["unsure"][:20]]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, BATCH_URL, {"items": items})

    assert response.status_code == 201
    assert {result["routing"] for result in response.json()["results"]} == {"auto"}
    assert {result["final_label"] for result in response.json()["results"]} <= {"fraud", "legit"}
    assert not ReviewItem.objects.exists()


def test_the_client_gets_its_answer_when_the_broker_is_down(
    active_model, api_client, unsure_features, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(review_items_route, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, PREDICT_URL, {"features": unsure_features})

    assert response.status_code == 201
    assert not ReviewItem.objects.exists()
    assert Prediction.objects.get().routing_state == Prediction.RoutingState.PENDING


def test_the_sweeper_routes_what_waited_too_long_and_leaves_the_rest(
    active_model, api_client, features_by_confidence
):
    unsure = features_by_confidence["unsure"]
    post_json(api_client, PREDICT_URL, {"request_id": "old", "features": unsure[0]})
    post_json(api_client, PREDICT_URL, {"request_id": "new", "features": unsure[1]})
    Prediction.objects.filter(request_id="old").update(
        routing_enqueued_at=timezone.now() - timedelta(minutes=5)
    )

    assert services.routing_sweep(older_than_seconds=60) == 1

    assert [item.prediction.request_id for item in ReviewItem.objects.all()] == ["old"]
    assert Prediction.objects.get(request_id="new").routing_state == Prediction.RoutingState.PENDING


def test_the_sweeper_sends_a_waiting_prediction_once_per_period(
    active_model, api_client, features_by_confidence, monkeypatch
):
    sent = []
    monkeypatch.setattr(services, "routing_enqueue", lambda *, prediction_ids: sent.append(prediction_ids))
    post_json(
        api_client, PREDICT_URL, {"request_id": "stuck", "features": features_by_confidence["unsure"][0]}
    )
    Prediction.objects.update(routing_enqueued_at=timezone.now() - timedelta(minutes=5))

    assert services.routing_sweep(older_than_seconds=60) == 1
    assert services.routing_sweep(older_than_seconds=60) == 0

    stuck = Prediction.objects.get(request_id="stuck")
    assert sent == [[stuck.pk]]
    assert stuck.routing_state == Prediction.RoutingState.PENDING


def test_routing_asks_the_database_as_often_for_one_prediction_as_for_many(
    active_model, api_client, features_by_confidence
):
    unsure = features_by_confidence["unsure"]
    post_json(api_client, BATCH_URL, {"items": [{"features": row} for row in unsure[:4]]})
    one, many = [
        list(Prediction.objects.order_by("pk").values_list("pk", flat=True))[s]
        for s in (slice(1), slice(1, 4))
    ]

    with CaptureQueriesContext(connection) as for_one:
        review_items_route(prediction_ids=one)
    with CaptureQueriesContext(connection) as for_many:
        review_items_route(prediction_ids=many)

    assert ReviewItem.objects.count() == 4
    assert len(for_many.captured_queries) == len(for_one.captured_queries)
