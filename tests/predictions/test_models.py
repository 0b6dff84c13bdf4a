"""A prediction as the scoring path builds it (`Prediction.scored`) is the one the constructor builds."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from predictions.api.serializers import timestamp
from predictions.models import ApiKey, ModelVersion, Prediction


def _values(**changes):
    now = timezone.now()
    return {
        "request_id": "order-1",
        "scored_by": None,
        "features": {"amount": 10.0},
        "features_digest": "d" * 64,
        "score": 0.9,
        "label": "fraud",
        "confidence": 0.9,
        "routing": "auto",
        "status": "decided",
        "final_label": "fraud",
        "reason_codes": [{"feature": "amount", "value": 10.0, "contribution": 1.5}],
        "routing_state": "not_needed",
        "routing_enqueued_at": None,
        "review_reason": None,
        "inclusion_probability": None,
        "created_at": now,
        **changes,
    }


@pytest.mark.parametrize("with_key", [True, False], ids=["api key", "no api key"])
def test_a_scored_prediction_has_every_column_the_constructor_would_give_it(with_key):
    version = ModelVersion(pk=7, version=3)
    api_key = ApiKey(pk=5, name="upstream") if with_key else None
    values = _values()

    built = Prediction.scored(api_key=api_key, model_version=version, **values)
    expected = Prediction(api_key=api_key, model_version=version, **values)

    for field in Prediction._meta.concrete_fields:
        # Read from the instance's own values: a column left out would otherwise be fetched.
        assert field.attname in built.__dict__, f"{field.attname} not set"
        assert built.__dict__[field.attname] == getattr(expected, field.attname), field.attname
    assert built.api_key is api_key and built.model_version is version  # no query for either
    assert built._state.adding and built.pk is None


@pytest.mark.django_db
def test_a_scored_prediction_saves_like_any_other(active_model):
    prediction = Prediction.scored(api_key=None, model_version=active_model, **_values(scored_by="admin"))

    prediction.save()

    stored = Prediction.objects.get(pk=prediction.pk)
    assert (stored.request_id, stored.scored_by, stored.model_version_id) == (
        "order-1",
        "admin",
        active_model.pk,
    )
    assert stored.outcome_label is None and stored.routed_at is None


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_times_in_answers_read_as_drfs_datetime_field_writes_them(settings, zone):
    from rest_framework import serializers

    settings.TIME_ZONE = zone
    for value in (datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)):
        assert timestamp(value) == serializers.DateTimeField().to_representation(value)
