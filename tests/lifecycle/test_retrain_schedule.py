"""RETRAIN_SCHEDULE: off by default; when set, beat retrains and shadows the new version, never activates."""

from __future__ import annotations

import logging

import pytest
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from lifecycle import retraining, services, tasks
from predictions.models import ModelVersion
from reviewapp import celery_app
from reviewapp.celery import retrain_beat_schedule
from reviewapp.schedules import env_crontab
from tests.lifecycle.retrain_history import history

# --- the setting and beat's entry ------------------------------------------------------------


def test_there_is_no_retraining_entry_by_default(monkeypatch):
    monkeypatch.delenv("RETRAIN_SCHEDULE", raising=False)

    assert env_crontab("RETRAIN_SCHEDULE") == ""
    assert retrain_beat_schedule("") == {}
    assert "retrain-from-outcomes" not in celery_app.conf.beat_schedule


def test_a_schedule_becomes_beats_entry_with_cron_field_order():
    entries = retrain_beat_schedule("30 3 * * 1")

    assert entries == {
        "retrain-from-outcomes": {
            "task": "lifecycle.tasks.model_retrain",
            "schedule": crontab(minute="30", hour="3", day_of_month="*", month_of_year="*", day_of_week="1"),
        }
    }


def test_the_entry_names_a_task_celery_knows():
    assert retrain_beat_schedule("0 3 * * *")["retrain-from-outcomes"]["task"] in celery_app.tasks


def test_the_setting_reads_the_environment_and_tidies_its_spaces(monkeypatch):
    monkeypatch.setenv("RETRAIN_SCHEDULE", "  0  3 * * mon ")

    assert env_crontab("RETRAIN_SCHEDULE") == "0 3 * * mon"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0 3 * *", "RETRAIN_SCHEDULE must be a crontab of 5 fields"),
        ("0 3 * * * *", "RETRAIN_SCHEDULE must be a crontab of 5 fields"),
        ("0 25 * * *", "RETRAIN_SCHEDULE is not a valid crontab"),
        ("0 3 * * someday", "RETRAIN_SCHEDULE is not a valid crontab"),
        ("weekly", "RETRAIN_SCHEDULE must be a crontab of 5 fields"),
    ],
)
def test_a_bad_schedule_stops_start_up_naming_the_setting(monkeypatch, value, message):
    monkeypatch.setenv("RETRAIN_SCHEDULE", value)

    with pytest.raises(ImproperlyConfigured, match=message):
        env_crontab("RETRAIN_SCHEDULE")


# --- what beat runs ----------------------------------------------------------------------------


def test_the_task_retrains_with_reviews_and_starts_shadowing_never_activating(
    active_model, make_user, settings
):
    settings.RETRAIN_WINDOW_DAYS = 30
    history(active_model, rows=300, reviewer=make_user("analyst"))

    number = tasks.model_retrain.apply().get()

    version = ModelVersion.objects.get(version=number)
    assert version.status == ModelVersion.Status.SHADOW
    assert version.created_by == "system:retrain"
    assert version.training_info["include_reviews"] is True
    assert version.shadow_periods.get().started_by == "system:retrain"
    assert ModelVersion.objects.get(pk=active_model.pk).status == ModelVersion.Status.ACTIVE


def test_a_refusal_is_a_warning_not_an_error(active_model, caplog):
    history(active_model, rows=20)

    with caplog.at_level(logging.WARNING, logger="lifecycle.retraining"):
        assert tasks.model_retrain.apply().get() is None

    assert "scheduled retraining refused: only" in caplog.text
    assert ModelVersion.objects.count() == 1


def test_the_window_is_retrain_window_days(active_model, settings):
    settings.RETRAIN_WINDOW_DAYS = 10
    # One prediction an hour for 300 hours, the last an hour ago: the one made 240 hours ago is
    # a moment older than the window by the time it is read, so 239 are in it.
    history(active_model, rows=300)

    version = retraining.model_retrain()

    info = version.training_info
    assert info["training_rows"] + info["holdout_rows"] + info["excluded_late_labels"] == 239


def test_a_challenger_an_admin_chose_keeps_shadowing(register_model, active_model):
    chosen = register_model(activate=False)
    services.shadow_start(version=chosen.version, actor="admin")
    history(active_model, rows=300)

    version = retraining.model_retrain()

    assert version.status == ModelVersion.Status.STAGED
    assert ModelVersion.objects.get(pk=chosen.pk).status == ModelVersion.Status.SHADOW


def test_a_challenger_the_schedule_started_is_replaced_by_the_newer(active_model):
    history(active_model, rows=300)
    first = retraining.model_retrain()

    second = retraining.model_retrain()

    assert second.status == ModelVersion.Status.SHADOW
    assert ModelVersion.objects.get(pk=first.pk).status == ModelVersion.Status.STAGED
