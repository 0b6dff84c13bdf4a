"""The kill switch: send every prediction to review, without a deploy."""

import pytest

from audit.models import AuditEvent
from predictions import services, switches
from predictions.models import OperationalSettings, Prediction
from reviews.models import ReviewItem

CHANGE_URL = "/admin/monitoring/operationalsettings/1/change/"


@pytest.fixture
def records(transactions):
    return transactions(20, seed=8)


def test_by_default_confident_predictions_are_decided_automatically(sure_model, score, records):
    created = score(records)

    assert {p.routing for p in created} == {Prediction.Routing.AUTO}
    assert {p.status for p in created} == {Prediction.Status.DECIDED}


def test_when_on_every_prediction_goes_to_review(
    sure_model, score, records, django_capture_on_commit_callbacks
):
    services.review_all_predictions_set(on=True, actor="user:admin")

    with django_capture_on_commit_callbacks(execute=True):
        created = score(records)

    assert {p.routing for p in created} == {Prediction.Routing.REVIEW}
    assert {p.status for p in created} == {Prediction.Status.PENDING_REVIEW}
    assert {p.final_label for p in created} == {""}
    assert ReviewItem.objects.filter(prediction__in=created).count() == len(records)


def test_switching_it_off_resumes_automatic_decisions(sure_model, score, records):
    services.review_all_predictions_set(on=True, actor="user:admin")
    services.review_all_predictions_set(on=False, actor="user:admin")

    assert {p.routing for p in score(records)} == {Prediction.Routing.AUTO}


def test_the_environment_setting_forces_it_on_whatever_the_switch_says(sure_model, score, records, settings):
    settings.REVIEW_ALL_PREDICTIONS = True
    services.review_all_predictions_set(on=False, actor="user:admin")

    assert {p.routing for p in score(records)} == {Prediction.Routing.REVIEW}


def test_each_flip_is_audited_with_who_and_the_before_and_after(db):
    services.review_all_predictions_set(on=True, actor="user:root")
    services.review_all_predictions_set(on=True, actor="user:root")  # no change, no event
    services.review_all_predictions_set(on=False, actor="user:other")

    events = list(AuditEvent.objects.filter(action=AuditEvent.Action.OPERATIONS_SWITCHED).order_by("id"))
    assert [(e.actor, e.before, e.after) for e in events] == [
        ("user:root", {"review_all_predictions": False}, {"review_all_predictions": True}),
        ("user:other", {"review_all_predictions": True}, {"review_all_predictions": False}),
    ]
    stored = OperationalSettings.objects.get()
    assert (stored.review_all_predictions, stored.changed_by) == (False, "user:other")


def test_the_hot_path_asks_the_database_at_most_every_refresh_period(db, settings, django_assert_num_queries):
    settings.MODEL_REFRESH_SECONDS = 60
    with django_assert_num_queries(1):
        assert switches.review_everything() is False
    # Another process flips it: this one notices at its next refresh, not per prediction.
    OperationalSettings.objects.create(pk=1, review_all_predictions=True)
    with django_assert_num_queries(0):
        for _ in range(100):
            assert switches.review_everything() is False

    switches.forget()

    assert switches.review_everything() is True


def test_an_admin_flips_it_in_the_admin_and_the_flip_is_audited(
    client, make_user, sure_model, score, records
):
    client.force_login(make_user("admin", "root"))

    listing = client.get("/admin/monitoring/operationalsettings/")
    assert listing.status_code == 302
    assert listing["Location"] == CHANGE_URL
    form = client.get(CHANGE_URL)
    assert form.status_code == 200
    assert b"Send every prediction to review" in form.content

    response = client.post(CHANGE_URL, {"review_all_predictions": "on"})

    assert response.status_code == 302
    assert OperationalSettings.objects.get().review_all_predictions is True
    assert AuditEvent.objects.get(action=AuditEvent.Action.OPERATIONS_SWITCHED).actor == "user:root"
    assert {p.routing for p in score(records)} == {Prediction.Routing.REVIEW}


def test_people_without_admin_rights_cannot_reach_the_switch(client, make_user):
    client.force_login(make_user("analyst"))

    response = client.post(CHANGE_URL, {"review_all_predictions": "on"})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not OperationalSettings.objects.filter(review_all_predictions=True).exists()
