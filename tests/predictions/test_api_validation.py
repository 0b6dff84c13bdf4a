"""Everything a client can get wrong is a 4xx naming what was wrong, and stores nothing."""

import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from predictions.models import ApiKey, Explanation, Prediction
from tests.predictions.helpers import PREDICT_URL, post_json

pytestmark = pytest.mark.usefixtures("active_model")


def assert_nothing_stored() -> None:
    assert Prediction.objects.count() == 0
    assert Explanation.objects.count() == 0


def post_features(client, features: dict, **changes):
    return post_json(client, PREDICT_URL, {"features": {**features, **changes}})


def assert_feature_error(response, name: str, message: str) -> None:
    assert response.status_code == 400, response.content
    errors = response.json()["features"]
    assert list(errors) == [name]
    assert message in errors[name][0]
    assert_nothing_stored()


# --- features that do not fit the schema ----------------------------------------------


def test_it_rejects_a_missing_feature(api_client, features):
    del features["amount"]
    response = post_features(api_client, features)
    assert_feature_error(response, "amount", "This feature is required.")


def test_it_rejects_a_null_feature(api_client, features):
    response = post_features(api_client, features, amount=None)
    assert_feature_error(response, "amount", "This feature is required.")


def test_it_rejects_unknown_features(api_client, features):
    response = post_features(api_client, features, favourite_colour="red")
    assert_feature_error(response, "favourite_colour", "Unknown feature.")


def test_it_names_every_bad_feature_at_once(api_client, features):
    del features["channel"]
    response = post_features(api_client, features, amount="12.50", hour_of_day=99)

    assert response.status_code == 400
    assert set(response.json()["features"]) == {"channel", "amount", "hour_of_day"}
    assert_nothing_stored()


def test_it_rejects_a_boolean_for_an_integer(api_client, features):
    response = post_features(api_client, features, hour_of_day=True)
    assert_feature_error(response, "hour_of_day", "Must be an integer.")


def test_it_rejects_a_fraction_for_an_integer(api_client, features):
    response = post_features(api_client, features, hour_of_day=3.5)
    assert_feature_error(response, "hour_of_day", "Must be an integer.")


def test_it_rejects_a_string_for_a_float(api_client, features):
    response = post_features(api_client, features, amount="12.50")
    assert_feature_error(response, "amount", "Must be a number.")


def test_it_rejects_a_boolean_for_a_float(api_client, features):
    response = post_features(api_client, features, amount=False)
    assert_feature_error(response, "amount", "Must be a number.")


def test_it_rejects_a_number_for_a_boolean(api_client, features):
    response = post_features(api_client, features, card_present=1)
    assert_feature_error(response, "card_present", "Must be true or false.")


def test_it_rejects_a_number_for_a_category(api_client, features):
    response = post_features(api_client, features, merchant_category=3)
    assert_feature_error(response, "merchant_category", "Must be a string.")


def test_it_rejects_an_object_for_a_float(api_client, features):
    response = post_features(api_client, features, amount={"value": 12})
    assert_feature_error(response, "amount", "Must be a number.")


def test_it_rejects_a_value_above_the_range(api_client, features):
    response = post_features(api_client, features, hour_of_day=24)
    assert_feature_error(response, "hour_of_day", "Must be at most 23.")


def test_it_rejects_a_value_below_the_range(api_client, features):
    response = post_features(api_client, features, amount=0)
    assert_feature_error(response, "amount", "Must be at least 0.01.")


def test_it_rejects_a_value_not_in_the_choices(api_client, features):
    response = post_features(api_client, features, merchant_category="casino")
    assert_feature_error(response, "merchant_category", "'casino' is not one of grocery, restaurant")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_it_rejects_non_finite_numbers_naming_the_feature(api_client, features, literal):
    body = json.dumps({"features": {**features, "amount": "PLACEHOLDER"}}).replace('"PLACEHOLDER"', literal)
    response = post_json(api_client, PREDICT_URL, body)
    assert_feature_error(response, "amount", "Must be a finite number.")


def test_it_rejects_an_integer_too_large_for_a_float(api_client, features):
    response = post_features(api_client, features, txn_count_1h=10**400)
    assert_feature_error(response, "txn_count_1h", "Is too large.")


# --- bodies that are not a prediction request -----------------------------------------


@pytest.mark.parametrize("body", ["[]", '"features"', "42", "null"])
def test_it_rejects_a_body_that_is_not_an_object(api_client, body):
    response = post_json(api_client, PREDICT_URL, body)

    assert response.status_code == 400
    assert response.json()["non_field_errors"]
    assert_nothing_stored()


def test_it_requires_features(api_client):
    response = post_json(api_client, PREDICT_URL, {"request_id": "order-1"})

    assert response.status_code == 400
    assert response.json() == {"features": ["This field is required."]}
    assert_nothing_stored()


@pytest.mark.parametrize("value", [[1, 2], "amount=12", 12, None])
def test_it_rejects_features_that_are_not_an_object(api_client, value):
    response = post_json(api_client, PREDICT_URL, {"features": value})

    assert response.status_code == 400
    assert list(response.json()) == ["features"]
    assert_nothing_stored()


@pytest.mark.parametrize("body", ['{"features": ', "{features: {}}", "\x00", '{"features": {}} trailing'])
def test_it_rejects_malformed_json(api_client, body):
    response = post_json(api_client, PREDICT_URL, body)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert_nothing_stored()


def test_it_rejects_a_body_that_is_not_utf8(api_client):
    response = post_json(api_client, PREDICT_URL, b'{"features": {"channel": "\xff"}}')

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert_nothing_stored()


def test_it_rejects_json_nested_too_deeply(api_client):
    response = post_json(api_client, PREDICT_URL, '{"features": ' + "[" * 200_000)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert_nothing_stored()


@pytest.mark.parametrize("request_id", ["has space", "slash/ed", "ünïcode", "semi;colon", "", "x" * 65])
def test_it_rejects_a_bad_request_id(api_client, features, request_id):
    response = post_json(api_client, PREDICT_URL, {"request_id": request_id, "features": features})

    assert response.status_code == 400
    assert list(response.json()) == ["request_id"]
    assert_nothing_stored()


def test_it_rejects_a_body_over_one_mebibyte(api_client, features, settings):
    padding = "x" * settings.MAX_REQUEST_BODY_BYTES
    response = post_features(api_client, features, notes=padding)

    assert response.status_code == 413
    assert "limit is 1048576 bytes" in response.json()["detail"]
    assert_nothing_stored()


def test_it_rejects_a_content_length_that_is_not_a_number(api_client, features):
    body = json.dumps({"features": features})
    response = api_client.post(PREDICT_URL, body, content_type="application/json", CONTENT_LENGTH="12kB")

    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid Content-Length header."}
    assert_nothing_stored()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_it_rejects_a_body_that_is_not_json(api_client, features, content_type):
    body = json.dumps({"features": features})
    response = api_client.post(PREDICT_URL, body, content_type=content_type)

    assert response.status_code == 415
    assert content_type in response.json()["detail"]
    assert_nothing_stored()


# --- who may score --------------------------------------------------------------------


def test_it_asks_for_a_key_when_none_is_given(features):
    response = post_json(APIClient(), PREDICT_URL, {"features": features})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert_nothing_stored()


@pytest.mark.parametrize(
    "header",
    ["Api-Key ra_0000abcd.wrong", "Api-Key not-even-our-format", "Api-Key ra_\x00.x", "api-key ra_x.y"],
)
def test_it_refuses_a_bad_key(features, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = post_json(client, PREDICT_URL, {"features": features})

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked API key."
    assert_nothing_stored()


@pytest.mark.parametrize("header", ["Api-Key", "Api-Key two parts"])
def test_it_refuses_a_malformed_key_header(features, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = post_json(client, PREDICT_URL, {"features": features})

    assert response.status_code == 401
    assert response.json()["detail"] == "Malformed Api-Key header: expected 'Api-Key <key>'."
    assert_nothing_stored()


def test_it_refuses_a_revoked_key(api_client, api_key_and_secret, features):
    ApiKey.objects.filter(pk=api_key_and_secret[0].pk).update(revoked_at=timezone.now())
    response = post_json(api_client, PREDICT_URL, {"features": features})

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked API key."
    assert_nothing_stored()


def test_it_refuses_a_key_whose_secret_was_rotated(api_client, api_key_and_secret, features):
    from predictions import services

    services.api_key_rotate(api_key=api_key_and_secret[0])
    response = post_json(api_client, PREDICT_URL, {"features": features})

    assert response.status_code == 401
    assert_nothing_stored()


@pytest.mark.parametrize("role", [None, "analyst", "auditor"])
def test_it_refuses_a_signed_in_user_who_may_not_score(client, make_user, features, role):
    client.force_login(make_user(role))
    response = post_json(client, PREDICT_URL, {"features": features})

    assert response.status_code == 403
    assert response.json()["detail"] == "You do not have permission to perform this action."
    assert_nothing_stored()


def test_it_lets_a_signed_in_admin_score(client, make_user, features):
    client.force_login(make_user("admin"))
    response = post_json(client, PREDICT_URL, {"features": features})

    assert response.status_code == 201
    assert Prediction.objects.get().api_key is None


@pytest.mark.parametrize(
    "body",
    [
        {"features": {"amount": 1}},
        {"request_id": "order-1:a.b_c", "features": {"amount": 1}},
        {"request_id": "order-1", "features": {"amount": 1}, "extra": True},
        {"request_id": " order-1 ", "features": {}},
        {"request_id": "x" * 64, "features": {}},
        {"request_id": "x" * 65, "features": {}},
        {"request_id": "", "features": {}},
        {"request_id": None, "features": {}},
        {"request_id": 12, "features": {}},
        {"request_id": "order\n", "features": {}},
        {"features": None},
        {"features": [1]},
        {"request_id": "order-1"},
        [],
        "text",
    ],
)
def test_the_fast_input_check_answers_as_the_serializer_does(body):
    from rest_framework.exceptions import ValidationError

    from predictions.api.serializers import PredictionInputSerializer, prediction_input

    serializer = PredictionInputSerializer(data=body)
    if serializer.is_valid():
        expected = (serializer.validated_data.get("request_id"), serializer.validated_data["features"])
        assert prediction_input(body) == expected
    else:
        with pytest.raises(ValidationError) as raised:
            prediction_input(body)
        assert raised.value.detail == serializer.errors
