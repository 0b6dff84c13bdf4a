"""Population stability index: the pure computation, then reports over stored predictions."""

from datetime import timedelta
from io import StringIO

import numpy as np
import pytest
from celery.schedules import crontab
from django.core.management import call_command
from django.utils import timezone

from monitoring import drift, services, tasks
from monitoring.models import DriftReport, DriftState
from predictions import training
from predictions.models import ModelVersion, Prediction
from predictions.scoring import encode_rows
from reviewapp import celery_app

FEATURES = {spec["name"] for spec in training.DEMO_SCHEMA}


def fresh_traffic(rows: int = 5000, seed: int = 404) -> list[dict]:
    """New transactions from the generator the demo model was trained on."""
    return training.frame_to_records(
        training.generate_transactions(rows=rows, seed=seed), training.DEMO_SCHEMA
    )


def feature_drift(trained, records: list[dict]) -> dict[str, float]:
    return drift.drift_by_feature(schema=trained.schema, reference=trained.reference, rows=records)


# --- the index --------------------------------------------------------------------------


def test_a_distribution_against_itself_has_no_drift():
    assert drift.psi([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]) == 0.0


def test_empty_bins_give_a_finite_index():
    both_empty = drift.psi([0.5, 0.5, 0.0], [0.5, 0.5, 0.0])
    newly_filled = drift.psi([0.5, 0.5, 0.0], [0.4, 0.4, 0.2])

    assert both_empty == 0.0
    assert np.isfinite(newly_filled)
    assert newly_filled > 0.25


def test_it_refuses_bins_that_do_not_line_up():
    with pytest.raises(ValueError, match="3 expected bins but 2"):
        drift.psi([0.2, 0.3, 0.5], [0.5, 0.5])


def test_values_are_binned_with_the_reference_edges_as_training_binned_them():
    values = np.array([0.0, 1.0, 1.5, 2.0, 9.0])

    proportions = drift.binned_proportions(values, edges=[1.0, 2.0])

    # side="right": a value equal to an edge belongs to the bin above it.
    assert proportions.tolist() == [0.2, 0.4, 0.4]


def test_states_follow_the_warning_and_alert_lines():
    assert drift.drift_state(0.09, warning=0.1, alert=0.25) == "ok"
    assert drift.drift_state(0.1, warning=0.1, alert=0.25) == "warning"
    assert drift.drift_state(0.25, warning=0.1, alert=0.25) == "alert"


def test_training_data_against_its_own_reference_is_near_zero(trained):
    frame = training.generate_transactions(rows=5000, seed=11)
    by_feature = feature_drift(trained, training.frame_to_records(frame, trained.schema))

    assert set(by_feature) == FEATURES
    assert max(by_feature.values()) < 0.02


def test_fresh_traffic_from_the_training_generator_is_near_zero_on_every_feature_and_the_score(trained):
    records = fresh_traffic()
    scores = trained.estimator.predict_proba(encode_rows(trained.schema, records))[:, 1]

    by_feature = feature_drift(trained, records)
    score_psi = drift.score_drift(reference=trained.reference, scores=scores)

    assert max(by_feature.values()) < 0.02, by_feature
    assert score_psi < 0.02


def test_amounts_five_times_larger_cross_the_alert_line_on_amount_only(trained):
    records = [{**r, "amount": r["amount"] * 5} for r in fresh_traffic()]

    by_feature = feature_drift(trained, records)

    assert by_feature["amount"] > 0.25
    assert max(v for name, v in by_feature.items() if name != "amount") < 0.02


def test_every_transaction_on_a_new_device_crosses_the_alert_line(trained):
    records = [{**r, "new_device": True} for r in fresh_traffic()]

    assert feature_drift(trained, records)["new_device"] > 0.25


def test_calendar_features_are_compared_only_over_a_window_as_long_as_their_cycle(trained):
    records = fresh_traffic(1000)

    assert set(
        drift.drift_by_feature(
            schema=trained.schema, reference=trained.reference, rows=records, window_hours=24
        )
    ) == FEATURES - {"day_of_week"}
    assert set(
        drift.drift_by_feature(
            schema=trained.schema, reference=trained.reference, rows=records, window_hours=6
        )
    ) == FEATURES - {"day_of_week", "hour_of_day"}
    assert (
        set(
            drift.drift_by_feature(
                schema=trained.schema, reference=trained.reference, rows=records, window_hours=168
            )
        )
        == FEATURES
    )


def test_a_new_mix_of_merchants_crosses_the_alert_line(trained):
    records = [{**r, "merchant_category": "gambling"} for r in fresh_traffic(1000)]

    assert feature_drift(trained, records)["merchant_category"] > 0.25


# --- reports over stored predictions ----------------------------------------------------


@pytest.fixture
def few_samples(settings):
    settings.DRIFT_MIN_SAMPLES = 100
    settings.DRIFT_WINDOW_HOURS = 24


def test_a_report_compares_the_active_versions_recent_predictions(active_model, score, few_samples):
    score(fresh_traffic(300))

    report = services.drift_report_create()

    assert report.model_version == active_model
    assert report.sample_size == 300
    rows = {row.feature: row for row in report.features.all()}
    # Day of week cycles over 168 h: a 24 h window sees one or two days of it.
    assert set(rows) == FEATURES - {"day_of_week"}
    assert report.not_compared == ["day_of_week"]
    assert all(row.state == DriftState.OK for row in rows.values()), {n: r.psi for n, r in rows.items()}
    assert report.score_psi is not None
    assert report.score_state == DriftState.OK
    assert report.window_start <= report.window_end <= timezone.now()


def test_a_report_on_shifted_traffic_flags_the_shifted_feature(active_model, score, few_samples):
    score([{**r, "amount": r["amount"] * 5, "new_device": True} for r in fresh_traffic(300)])

    report = services.drift_report_create()

    states = dict(report.features.values_list("feature", "state"))
    assert states["amount"] == DriftState.ALERT
    assert states["new_device"] == DriftState.ALERT
    assert states["channel"] == DriftState.OK


def test_too_few_predictions_write_no_report(active_model, score, settings):
    settings.DRIFT_MIN_SAMPLES = 200
    score(fresh_traffic(50))

    with pytest.raises(services.TooFewSamples, match="50 predictions of v1 in the last 24 h"):
        services.drift_report_create()

    assert not DriftReport.objects.exists()


def test_predictions_older_than_the_window_are_left_out(active_model, score, few_samples):
    old = score(fresh_traffic(150, seed=1), prefix="old")
    score(fresh_traffic(150, seed=2), prefix="new")
    Prediction.objects.filter(pk__in=[p.pk for p in old]).update(
        created_at=timezone.now() - timedelta(hours=30)
    )

    assert services.drift_report_create(window_hours=48).sample_size == 300
    assert services.drift_report_create(window_hours=24).sample_size == 150


def test_the_last_n_predictions_can_be_the_window(active_model, score, few_samples):
    predictions = score(fresh_traffic(250))
    now = timezone.now()
    for hours_ago, prediction in enumerate(predictions):
        prediction.created_at = now - timedelta(hours=hours_ago)
    Prediction.objects.bulk_update(predictions, ["created_at"])

    report = services.drift_report_create(last_n=120)

    assert report.sample_size == 120
    # They span 119 h: long enough for the hour of day, not for the day of the week.
    assert report.window_end - report.window_start == timedelta(hours=119)
    assert report.not_compared == ["day_of_week"]


def test_only_the_active_versions_predictions_count(register_model, score, few_samples):
    register_model()
    score(fresh_traffic(150), prefix="v1")
    current = register_model()
    score(fresh_traffic(120), prefix="v2")

    report = services.drift_report_create()

    assert report.model_version == current
    assert report.sample_size == 120


def test_the_scheduled_task_writes_a_report_or_explains_why_not(active_model, score, few_samples, caplog):
    assert tasks.drift_report_create.delay().get() is None
    assert "drift report skipped" in caplog.text

    score(fresh_traffic(120))
    report_id = tasks.drift_report_create.delay().get()

    assert DriftReport.objects.get(pk=report_id).sample_size == 120


def test_the_task_runs_every_fifteen_minutes_from_beat():
    entry = celery_app.conf.beat_schedule["compute-drift"]

    assert entry["task"] == "monitoring.tasks.drift_report_create"
    assert entry["schedule"] == crontab(minute="*/15")
    assert entry["task"] in celery_app.tasks


def test_the_command_prints_each_features_index_and_state(active_model, score, few_samples):
    score([{**r, "amount": r["amount"] * 5} for r in fresh_traffic(150)])
    out = StringIO()

    call_command("compute_drift", hours=1, stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("drift of card-fraud v1 over 150 predictions")
    states = {line.split()[0]: line.split()[2] for line in lines[1:-1]}
    assert states["amount"] == "alert"
    assert set(states) == FEATURES - {"hour_of_day", "day_of_week"} | {"score"}
    assert lines[-1].endswith(
        "not compared (the window is shorter than their cycle): hour_of_day, day_of_week"
    )
    assert DriftReport.objects.count() == 1


def test_the_command_says_when_there_is_too_little_traffic(active_model, settings):
    settings.DRIFT_MIN_SAMPLES = 200
    out = StringIO()

    call_command("compute_drift", last=500, stdout=out)

    assert "0 predictions of v1 among the last 500" in out.getvalue()
    assert not DriftReport.objects.exists()


@pytest.mark.django_db
def test_without_an_active_model_there_is_nothing_to_compare():
    assert not ModelVersion.objects.exists()
    with pytest.raises(services.NoActiveModel):
        services.drift_report_create()
