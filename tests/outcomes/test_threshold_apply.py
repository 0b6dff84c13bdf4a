"""Applying a review threshold: the service (audited, range-checked), every process scoring with it
within MODEL_REFRESH_SECONDS, and the what-if page's form (admins only, CSRF-protected)."""

import math
import time

import pytest
from django.test import Client

from audit.models import AuditEvent
from predictions import registry, services
from predictions.models import ModelVersion, Prediction

APPLY = "/models/threshold/"  # lifecycle:threshold-propose: four eyes lives there


def threshold_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_THRESHOLD_CHANGED).order_by("id"))


# --- the service ----------------------------------------------------------------------


def test_it_sets_the_threshold_and_audits_the_change(active_model):
    version = services.model_version_threshold_set(
        version=active_model.version, threshold=0.9, actor="user:root"
    )

    assert version.review_threshold == 0.9
    assert ModelVersion.objects.get(pk=active_model.pk).review_threshold == 0.9
    [event] = threshold_events()
    assert (event.actor, event.object_type, event.object_id) == (
        "user:root",
        "model_version",
        str(active_model.version),
    )
    assert (event.before, event.after) == ({"review_threshold": 0.85}, {"review_threshold": 0.9})


def test_setting_the_same_threshold_again_changes_and_records_nothing(active_model):
    services.model_version_threshold_set(version=active_model.version, threshold=0.85, actor="user:root")

    assert threshold_events() == []


@pytest.mark.parametrize("threshold", [0.49, 1.01, math.nan, -math.inf])
def test_it_refuses_a_threshold_outside_half_to_one(active_model, threshold):
    with pytest.raises(services.InvalidInput) as refused:
        services.model_version_threshold_set(
            version=active_model.version, threshold=threshold, actor="user:root"
        )

    assert list(refused.value.errors) == ["threshold"]
    assert ModelVersion.objects.get(pk=active_model.pk).review_threshold == 0.85


@pytest.mark.parametrize("threshold", [0.5, 1.0])
def test_the_ends_of_the_range_are_allowed(active_model, threshold):
    assert (
        services.model_version_threshold_set(
            version=active_model.version, threshold=threshold, actor="user:root"
        ).review_threshold
        == threshold
    )


def test_it_refuses_an_unknown_version(db):
    with pytest.raises(services.InvalidInput) as refused:
        services.model_version_threshold_set(version=42, threshold=0.9, actor="user:root")

    assert list(refused.value.errors) == ["version"]


# --- every process --------------------------------------------------------------------


def test_the_process_that_sets_it_scores_with_it_at_once(active_model, transactions, settings):
    settings.MODEL_REFRESH_SECONDS = 3600
    registry.get_active_model()  # cached here

    services.model_version_threshold_set(version=active_model.version, threshold=1.0, actor="user:root")
    prediction, _ = services.prediction_create(api_key=None, request_id="after", features=transactions(1)[0])

    assert prediction.review_reason == Prediction.ReviewReason.LOW_CONFIDENCE


def test_another_process_scores_with_it_within_the_refresh_time(
    active_model, transactions, settings, monkeypatch
):
    settings.MODEL_REFRESH_SECONDS = 5
    services.model_version_threshold_set(version=active_model.version, threshold=0.5, actor="user:root")
    loads = []
    real_load = registry.load_version
    monkeypatch.setattr(registry, "load_version", lambda version: loads.append(version) or real_load(version))
    first, second, third = transactions(3)
    before, _ = services.prediction_create(api_key=None, request_id="before", features=first)
    assert before.review_reason is None  # a confidence is never below 0.5

    # Another process raises it: this one's cache is not told.
    ModelVersion.objects.filter(pk=active_model.pk).update(review_threshold=1.0)
    meanwhile, _ = services.prediction_create(api_key=None, request_id="meanwhile", features=second)
    started = time.monotonic()
    monkeypatch.setattr("reviewapp.caching.time.monotonic", lambda: started + 5)
    after, _ = services.prediction_create(api_key=None, request_id="after", features=third)

    assert meanwhile.review_reason is None  # within the 5 s, the old threshold
    assert after.review_reason == Prediction.ReviewReason.LOW_CONFIDENCE
    assert registry.get_active_model().version.review_threshold == 1.0
    assert len(loads) == 1, "the artifact is loaded once: a new threshold keeps the scorer"


def test_an_unchanged_row_keeps_the_cached_model(active_model, settings):
    settings.MODEL_REFRESH_SECONDS = 0  # every call reads the row again

    assert registry.get_active_model() is registry.get_active_model()


# --- the page's form ------------------------------------------------------------------


@pytest.fixture
def admin_client(make_user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("admin"))
    return client


def csrf_post(client: Client, data: dict):
    client.get("/quality/thresholds/")  # sets the CSRF cookie, as the page does
    return client.post(APPLY, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_an_admin_applies_a_threshold_from_the_what_if_page(admin_client, active_model):
    params = {"since": "2026-01-12", "until": "2026-01-25", "cost_missed_fraud": "250"}
    response = csrf_post(admin_client, {"version": active_model.version, "threshold": "0.91", **params})

    assert response.status_code == 302
    assert (
        response["Location"] == "/quality/thresholds/?since=2026-01-12&until=2026-01-25&cost_missed_fraud=250"
    )
    assert ModelVersion.objects.get(pk=active_model.pk).review_threshold == 0.91
    [event] = threshold_events()
    assert event.actor == "user:admin"
    page = admin_client.get(response["Location"]).content.decode()
    assert "review threshold is now 0.91 (was 0.85)" in page


def test_the_form_needs_its_csrf_token(admin_client, active_model):
    response = admin_client.post(APPLY, {"version": active_model.version, "threshold": "0.91"})

    assert response.status_code == 403
    assert ModelVersion.objects.get(pk=active_model.pk).review_threshold == 0.85


@pytest.mark.parametrize("role", ["auditor", "analyst"])
def test_only_admins_may_apply_one(make_user, active_model, role):
    client = Client()
    client.force_login(make_user(role))

    response = client.post(APPLY, {"version": active_model.version, "threshold": "0.91"})

    assert response.status_code == 403
    assert threshold_events() == []


def test_a_threshold_out_of_range_is_not_applied(admin_client, active_model):
    response = csrf_post(admin_client, {"version": active_model.version, "threshold": "0.3"})

    assert response.status_code == 302
    assert ModelVersion.objects.get(pk=active_model.pk).review_threshold == 0.85
    assert "Not applied" in admin_client.get(response["Location"]).content.decode()


def test_it_is_not_applied_when_another_version_was_activated_meanwhile(
    admin_client, active_model, register_model
):
    newer = register_model()  # activated after the page was drawn for active_model

    response = csrf_post(admin_client, {"version": active_model.version, "threshold": "0.95"})

    assert "the active model changed" in admin_client.get(response["Location"]).content.decode()
    assert {v.review_threshold for v in ModelVersion.objects.filter(pk__in=[active_model.pk, newer.pk])} == {
        0.85
    }
    assert threshold_events() == []
