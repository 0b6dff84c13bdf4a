"""A challenger shadows live traffic: scored off the hot path, never changing the API's answer."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from lifecycle import services, tasks
from lifecycle.models import ShadowPeriod, ShadowScore
from predictions import registry
from predictions import services as prediction_services
from predictions.models import ModelVersion, Prediction
from predictions.scoring import ArtifactError
from reviewapp.errors import Conflict
from tests.predictions.helpers import BATCH_URL, PREDICT_URL, artifact_tamper, post_json

# What differs between two answers to the same features whatever the model: identity and time.
VARYING = {"request_id", "created_at", "id"}


@pytest.fixture
def challenger(active_model, register_model):
    """A staged second version (the same trained model: its scores are known to match)."""
    return register_model(activate=False)


@pytest.fixture
def shadowing(challenger):
    services.shadow_start(version=challenger.version, actor="test")
    challenger.refresh_from_db()
    return challenger


def _answer(response) -> dict:
    return {key: value for key, value in response.json().items() if key not in VARYING}


def test_the_api_answers_the_same_with_a_challenger(
    active_model, challenger, api_client, transactions, django_capture_on_commit_callbacks
):
    rows = transactions(6, seed=3)
    with django_capture_on_commit_callbacks(execute=True):
        before = [_answer(post_json(api_client, PREDICT_URL, {"features": row})) for row in rows[:3]]
    services.shadow_start(version=challenger.version, actor="test")
    with django_capture_on_commit_callbacks(execute=True):
        responses = [post_json(api_client, PREDICT_URL, {"features": row}) for row in rows[:3]]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert [_answer(r) for r in responses] == before
    shadowed = Prediction.objects.filter(request_id__in=[r.json()["request_id"] for r in responses])
    assert ShadowScore.objects.filter(prediction__in=shadowed, model_version=challenger).count() == 3


def test_a_shadow_score_holds_the_challengers_score_label_routing_and_explanation(
    shadowing, api_client, transactions, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_json(api_client, PREDICT_URL, {"features": transactions(1, seed=4)[0]})

    prediction = Prediction.objects.get()
    shadow = ShadowScore.objects.get()
    assert shadow.model_version == shadowing
    # The same trained model: the same score, label and routing, computed by the challenger.
    assert shadow.score == pytest.approx(prediction.score)
    assert (shadow.label, shadow.routing, shadow.review_reason) == (
        prediction.label,
        prediction.routing,
        prediction.review_reason,
    )
    assert set(shadow.shap_values) == {spec["name"] for spec in shadowing.feature_schema}
    assert shadow.reason_codes == prediction.reason_codes


def test_the_challenger_routes_with_its_own_threshold(
    shadowing, api_client, transactions, django_capture_on_commit_callbacks
):
    ModelVersion.objects.filter(pk=shadowing.pk).update(review_threshold=1.0)
    registry.forget()
    with django_capture_on_commit_callbacks(execute=True):
        post_json(api_client, BATCH_URL, {"items": [{"features": row} for row in transactions(5, seed=6)]})

    assert set(ShadowScore.objects.values_list("routing", "review_reason")) == {("review", "low_confidence")}


def test_a_batch_is_one_task_with_every_prediction(
    shadowing, api_client, transactions, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(tasks.shadow_scores_create, "apply_async", lambda kwargs: sent.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        items = [{"features": row} for row in transactions(7, seed=8)]
        response = post_json(api_client, BATCH_URL, {"items": items})

    assert response.status_code == 201
    assert len(sent) == 1
    assert sorted(sent[0]["prediction_ids"]) == sorted(Prediction.objects.values_list("pk", flat=True))


def test_without_a_challenger_nothing_is_sent(
    active_model, api_client, transactions, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(tasks.shadow_scores_create, "apply_async", lambda kwargs: sent.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        post_json(api_client, PREDICT_URL, {"features": transactions(1)[0]})

    assert sent == []


def test_nothing_is_shadowed_before_the_prediction_commits(shadowing, api_client, transactions):
    response = post_json(api_client, PREDICT_URL, {"features": transactions(1)[0]})

    assert response.status_code == 201
    assert not ShadowScore.objects.exists()


def test_the_client_gets_its_answer_when_the_broker_is_down_and_the_sweep_scores_later(
    shadowing, api_client, transactions, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.shadow_scores_create, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, PREDICT_URL, {"features": transactions(1)[0]})

    assert response.status_code == 201
    assert not ShadowScore.objects.exists()
    # Within the grace period the commit group's own task may still be on its way.
    assert services.shadow_sweep() == 0

    assert services.shadow_sweep(grace=timedelta(0)) == 1
    assert ShadowScore.objects.get().prediction.request_id == response.json()["request_id"]
    assert services.shadow_sweep(grace=timedelta(0)) == 0


def test_the_sweep_takes_at_most_a_batch(shadowing, api_client, transactions, monkeypatch, settings):
    monkeypatch.setattr(tasks.shadow_scores_create, "apply_async", lambda kwargs: None)
    post_json(api_client, BATCH_URL, {"items": [{"features": r} for r in transactions(5, seed=9)]})
    settings.SHADOW_BATCH_SIZE = 2

    assert services.shadow_sweep(grace=timedelta(0)) == 2
    assert services.shadow_sweep(grace=timedelta(0)) == 2
    assert services.shadow_sweep(grace=timedelta(0)) == 1
    assert ShadowScore.objects.count() == 5


def test_predictions_the_challenger_cannot_read_do_not_hold_the_sweep(
    shadowing, api_client, transactions, monkeypatch, settings
):
    monkeypatch.setattr(tasks.shadow_scores_create, "apply_async", lambda kwargs: None)
    post_json(api_client, BATCH_URL, {"items": [{"features": r} for r in transactions(3, seed=9)]})
    oldest_two = Prediction.objects.order_by("created_at", "pk").values_list("pk", flat=True)[:2]
    Prediction.objects.filter(pk__in=list(oldest_two)).update(features={})  # nothing it can read
    settings.SHADOW_BATCH_SIZE = 2

    assert services.shadow_sweep(grace=timedelta(0)) == 0  # the two it cannot read, said once
    assert services.shadow_sweep(grace=timedelta(0)) == 1  # then the one it can, not the two again
    assert services.shadow_sweep(grace=timedelta(0)) == 0
    assert ShadowScore.objects.count() == 1


def test_each_sweep_starts_where_the_last_one_stopped(shadowing, api_client, transactions, monkeypatch):
    monkeypatch.setattr(tasks.shadow_scores_create, "apply_async", lambda kwargs: None)
    post_json(api_client, PREDICT_URL, {"features": transactions(1)[0]})

    assert services.shadow_sweep(grace=timedelta(0)) == 1
    period = ShadowPeriod.objects.get(ended_at__isnull=True)
    assert period.swept_until > Prediction.objects.get().created_at

    ShadowScore.objects.all().delete()  # a score lost after the sweep passed it
    assert services.shadow_sweep(grace=timedelta(0)) == 0  # not looked for again: a backfill scores it
    assert ShadowPeriod.objects.get(pk=period.pk).swept_until >= period.swept_until


def test_a_redelivered_task_stores_nothing_twice(
    shadowing, api_client, transactions, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_json(api_client, PREDICT_URL, {"features": transactions(1)[0]})
    ids = list(Prediction.objects.values_list("pk", flat=True))

    tasks.shadow_scores_create.delay(prediction_ids=ids)

    assert ShadowScore.objects.count() == 1
    assert services.shadow_scores_create(prediction_ids=ids) == 0  # nor scored, nor counted again


def test_predictions_made_before_the_period_or_while_none_is_open_are_skipped(
    challenger, api_client, transactions
):
    post_json(api_client, PREDICT_URL, {"request_id": "before", "features": transactions(1)[0]})
    before = Prediction.objects.get(request_id="before")

    assert services.shadow_scores_create(prediction_ids=[before.pk]) == 0  # no period open
    services.shadow_start(version=challenger.version, actor="test")
    assert services.shadow_scores_create(prediction_ids=[before.pk]) == 0  # older than the period
    assert not ShadowScore.objects.exists()


def test_predictions_of_a_stopped_challenger_are_skipped(shadowing, api_client, transactions, monkeypatch):
    monkeypatch.setattr(tasks.shadow_scores_create, "apply_async", lambda kwargs: None)
    post_json(api_client, PREDICT_URL, {"features": transactions(1)[0]})
    services.shadow_stop(actor="test")

    ids = list(Prediction.objects.values_list("pk", flat=True))
    assert services.shadow_scores_create(prediction_ids=ids) == 0


def test_predictions_sends_shadow_scoring_to_the_task_by_the_name_lifecycle_registers():
    # predictions may not import lifecycle: it finds the task in Celery's registry by this name.
    assert tasks.shadow_scores_create.name == prediction_services.SHADOW_TASK


# --- starting and stopping --------------------------------------------------------------


def test_starting_makes_the_version_the_challenger_and_is_audited(active_model, challenger):
    period = services.shadow_start(version=challenger.version, actor="user:root")

    challenger.refresh_from_db()
    assert challenger.status == ModelVersion.Status.SHADOW
    assert (period.model_version, period.active_version, period.started_by) == (
        challenger,
        active_model,
        "user:root",
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.MODEL_SHADOW_STARTED)
    assert (event.actor, event.object_id, event.before, event.after["shadow_version"]) == (
        "user:root",
        str(challenger.version),
        {"shadow_version": None},
        challenger.version,
    )


def test_the_active_version_cannot_shadow(active_model):
    with pytest.raises(Conflict):
        services.shadow_start(version=active_model.version, actor="test")
    assert not ShadowPeriod.objects.exists()


def test_a_broken_artifact_is_refused_before_anything_changes(challenger):
    artifact_tamper(challenger)

    with pytest.raises(ArtifactError):
        services.shadow_start(version=challenger.version, actor="test")

    challenger.refresh_from_db()
    assert challenger.status == ModelVersion.Status.STAGED
    assert not ShadowPeriod.objects.exists()


def test_a_new_challenger_replaces_the_previous_one(shadowing, register_model):
    third = register_model(activate=False)

    services.shadow_start(version=third.version, actor="test")

    shadowing.refresh_from_db()
    assert shadowing.status == ModelVersion.Status.STAGED
    ended = ShadowPeriod.objects.get(model_version=shadowing)
    assert ended.end_reason == ShadowPeriod.EndReason.REPLACED
    assert ShadowPeriod.objects.get(ended_at__isnull=True).model_version == third


def test_stopping_ends_the_period_and_stages_the_version(shadowing):
    services.shadow_stop(actor="user:root")

    shadowing.refresh_from_db()
    period = ShadowPeriod.objects.get()
    assert shadowing.status == ModelVersion.Status.STAGED
    assert (period.end_reason, period.ended_by) == ("stopped", "user:root")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_SHADOW_STOPPED).count() == 1
    with pytest.raises(Conflict):
        services.shadow_stop(actor="user:root")


def test_activating_the_challenger_ends_its_period_as_promoted(shadowing):
    activated = prediction_services.model_version_activate(version=shadowing.version, actor="test")
    services.shadow_period_close_on_activation(activated=activated, actor="test")

    assert ShadowPeriod.objects.get().end_reason == ShadowPeriod.EndReason.PROMOTED
    assert not ShadowPeriod.objects.filter(ended_at__isnull=True).exists()


def test_activating_another_version_keeps_the_challenger_shadowing_the_new_one(shadowing, register_model):
    other = register_model(activate=False)
    activated = prediction_services.model_version_activate(version=other.version, actor="test")
    services.shadow_period_close_on_activation(activated=activated, actor="test")

    ended, open_ = (
        ShadowPeriod.objects.get(ended_at__isnull=False),
        ShadowPeriod.objects.get(ended_at__isnull=True),
    )
    assert ended.end_reason == ShadowPeriod.EndReason.ACTIVE_CHANGED
    assert (open_.model_version, open_.active_version) == (shadowing, other)


def test_a_backfill_scores_past_predictions(challenger, api_client, transactions, settings):
    post_json(api_client, BATCH_URL, {"items": [{"features": r} for r in transactions(5, seed=12)]})
    settings.SHADOW_BATCH_SIZE = 2

    services.shadow_start(
        version=challenger.version,
        actor="test",
        backfill_since=timezone.now() - timedelta(days=1),
        backfill_in_background=False,
    )

    assert ShadowScore.objects.filter(model_version=challenger).count() == 5


def test_a_background_backfill_goes_on_in_runs_until_done(
    challenger, api_client, transactions, settings, monkeypatch, django_capture_on_commit_callbacks
):
    post_json(api_client, BATCH_URL, {"items": [{"features": r} for r in transactions(5, seed=12)]})
    settings.SHADOW_BATCH_SIZE = 2
    monkeypatch.setattr(tasks, "BACKFILL_RUN", 2)  # 2 + 2 + 1: three runs
    runs = []
    monkeypatch.setattr(services, "shadow_backfill", _counting(services.shadow_backfill, runs))

    with django_capture_on_commit_callbacks(execute=True):
        services.shadow_start(
            version=challenger.version, actor="test", backfill_since=timezone.now() - timedelta(days=1)
        )

    assert ShadowScore.objects.filter(model_version=challenger).count() == 5
    assert runs == [2, 2, 1]


def _counting(function, runs: list):
    def counted(**kwargs):
        taken = function(**kwargs)
        runs.append(taken)
        return taken

    return counted


def test_the_command_starts_backfills_and_stops(challenger, api_client, transactions):
    post_json(api_client, PREDICT_URL, {"features": transactions(1)[0]})

    call_command("shadow_model", str(challenger.version), "--backfill-days", "1")
    assert ShadowScore.objects.count() == 1
    assert ShadowPeriod.objects.get().started_by.startswith("cli:")

    call_command("shadow_model", "--stop")
    assert ShadowPeriod.objects.get().end_reason == "stopped"


# --- the API ----------------------------------------------------------------------------


def shadow_url(version: int) -> str:
    return f"/api/v1/models/{version}/shadow/"


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("admin", "root"))
    return client


def test_an_admin_starts_shadowing_over_the_api(admin_client, challenger, active_model):
    response = admin_client.post(shadow_url(challenger.version), content_type="application/json")  # no body

    assert response.status_code == 201
    assert response.json()["version"] == challenger.version
    assert response.json()["active_version"] == active_model.version
    assert response.json()["started_by"] == "user:root"
    assert ModelVersion.objects.get(pk=challenger.pk).status == "shadow"


def test_the_api_backfills_when_asked(
    admin_client, challenger, api_client, transactions, django_capture_on_commit_callbacks
):
    post_json(api_client, BATCH_URL, {"items": [{"features": r} for r in transactions(3, seed=2)]})

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            shadow_url(challenger.version), {"backfill_days": 2}, content_type="application/json"
        )

    assert response.status_code == 201
    assert ShadowScore.objects.count() == 3  # by a task (eager here), after the answer


@pytest.mark.parametrize("days", [0, -1, "many", 1000])
def test_a_bad_backfill_is_400_naming_the_field(admin_client, challenger, days):
    response = admin_client.post(
        shadow_url(challenger.version), {"backfill_days": days}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "backfill_days" in response.json()
    assert not ShadowPeriod.objects.exists()


def test_the_active_version_is_409_and_an_unknown_one_404(admin_client, active_model):
    assert (
        admin_client.post(shadow_url(active_model.version), content_type="application/json").status_code
        == 409
    )
    assert admin_client.post(shadow_url(99), content_type="application/json").status_code == 404


def test_a_broken_artifact_is_409_over_the_api(admin_client, challenger):
    artifact_tamper(challenger)

    response = admin_client.post(shadow_url(challenger.version), content_type="application/json")

    assert response.status_code == 409
    assert "nothing changed" in response.json()["detail"]


def test_delete_stops_shadowing(admin_client, shadowing, register_model):
    other = register_model(activate=False)
    assert admin_client.delete(shadow_url(other.version)).status_code == 409  # not the challenger

    response = admin_client.delete(shadow_url(shadowing.version))

    assert response.status_code == 200
    assert response.json()["end_reason"] == "stopped"
    assert admin_client.delete(shadow_url(shadowing.version)).status_code == 409


@pytest.mark.parametrize("role", ["auditor", "analyst"])
def test_only_admins_shadow(client, make_user, challenger, role):
    client.force_login(make_user(role))

    assert client.post(shadow_url(challenger.version), content_type="application/json").status_code == 403
    assert client.delete(shadow_url(challenger.version)).status_code == 403


def test_an_api_key_cannot_shadow(api_client, challenger):
    assert api_client.post(shadow_url(challenger.version), format="json").status_code == 403
