"""Searching predictions: the shared filters through the audit page and GET /api/v1/predictions/,
sorting, cursor pages, bad input, and who may search."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from predictions import services
from predictions.models import ModelVersion, Prediction
from reviews import audit_views
from reviews import services as review_services
from tests.reviews.factories import digest_of

SEARCH_URL = "/api/v1/predictions/"
PAGE_URL = "/audit/"
DAY_ONE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TRACE_LINK = re.compile(r'<a href="/audit/predictions/([^/"]+)/">')


def _reasons(*features: str) -> list[dict]:
    return [{"feature": name, "value": 1, "contribution": 0.5 - n / 10} for n, name in enumerate(features)]


# request_id: (model version, label, score, top reasons); created one day apart, in this order.
CORPUS = {
    "auto-legit": (1, "legit", 0.02, _reasons("amount", "hour_of_day", "channel")),
    "auto-fraud": (1, "fraud", 0.98, _reasons("ip_risk_score", "amount", "new_device")),
    "rev-confirmed": (2, "fraud", 0.70, _reasons("new_device", "ip_risk_score", "amount")),
    "rev-overridden": (2, "fraud", 0.55, _reasons("distance_from_home_km", "amount", "channel")),
    "rev-pending": (2, "legit", 0.40, _reasons("amount", "channel", "hour_of_day")),
}


def _activate(register_model, threshold: float) -> ModelVersion:
    version = register_model(activate=False)
    ModelVersion.objects.filter(pk=version.pk).update(review_threshold=threshold)
    return services.model_version_activate(version=version.version, actor="test")


def _score(request_ids: list[str], records: list[dict]) -> list[Prediction]:
    """Score through the service, then pin what the search looks at to known values."""
    created, _ = services.predictions_create_batch(
        api_key=None,
        items=[{"request_id": r, "features": f} for r, f in zip(request_ids, records, strict=True)],
    )
    for prediction in created:
        version, label, score, reasons = CORPUS[prediction.request_id]
        assert prediction.model_version.version == version
        Prediction.objects.filter(pk=prediction.pk).update(
            label=label,
            score=score,
            confidence=max(score, 1 - score),
            reason_codes=reasons,
            created_at=DAY_ONE + timedelta(days=list(CORPUS).index(prediction.request_id)),
            final_label=label if prediction.routing == Prediction.Routing.AUTO else "",
        )
    return created


@pytest.fixture
def corpus(register_model, transactions, make_user):
    """Five predictions: two decided by model v1 itself, three sent to review by v2, of which
    alice confirmed one, bob overrode one and one still waits."""
    records = transactions(5, seed=31)
    _activate(register_model, threshold=0.0)  # sure of everything: all decided automatically
    _score(["auto-legit", "auto-fraud"], records[:2])
    _activate(register_model, threshold=1.0)  # sure of nothing: all sent to review
    reviewed = _score(["rev-confirmed", "rev-overridden", "rev-pending"], records[2:])
    review_services.review_items_route(prediction_ids=[p.pk for p in reviewed])
    for request_id, reviewer, outcome, reason in [
        ("rev-confirmed", "alice", "confirmed", ""),
        ("rev-overridden", "bob", "overridden", "known_customer_behaviour"),
    ]:
        user = make_user("analyst", reviewer)
        item = Prediction.objects.get(request_id=request_id).review_item
        review_services.review_item_claim(item_id=item.pk, user=user)
        review_services.decision_record(
            item_id=item.pk, user=user, outcome=outcome, reason=reason, seen_digest=digest_of(item)
        )
    return CORPUS


@pytest.fixture
def auditor(client, make_user) -> Client:
    client.force_login(make_user("auditor", "audrey"))
    return client


def _api_pages(client, params: dict) -> list[dict]:
    """Every page of an API search, following the cursor links."""
    response = client.get(SEARCH_URL, params)
    assert response.status_code == 200, response.content
    body = response.json()
    rows = list(body["results"])
    while body["next"]:
        response = client.get(body["next"])
        assert response.status_code == 200
        body = response.json()
        rows.extend(body["results"])
    return rows


def _found_through_api(client, params: dict) -> list[str]:
    return [row["request_id"] for row in _api_pages(client, params)]


def _found_through_page(client, params: dict) -> list[str]:
    response = client.get(PAGE_URL, params)
    assert response.status_code == 200
    return TRACE_LINK.findall(response.content.decode())


SURFACES = {"api": _found_through_api, "page": _found_through_page}


def _at(day: int) -> str:
    return (DAY_ONE + timedelta(days=day)).isoformat()


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["auto-legit", "auto-fraud", "rev-confirmed", "rev-overridden", "rev-pending"]),
        ({"request_id": "rev-pending"}, ["rev-pending"]),
        ({"request_id": "rev"}, []),  # exact, not a prefix
        ({"created_after": _at(1), "created_before": _at(3)}, ["auto-fraud", "rev-confirmed"]),
        ({"created_after": _at(4)}, ["rev-pending"]),
        ({"model_version": 1}, ["auto-legit", "auto-fraud"]),
        # Its first and last prediction included: the filter is bounded by them.
        ({"model_version": 2}, ["rev-confirmed", "rev-overridden", "rev-pending"]),
        ({"model_version": 1, "created_after": _at(1)}, ["auto-fraud"]),
        ({"model_version": 9}, []),  # no such version
        ({"routing": "review"}, ["rev-confirmed", "rev-overridden", "rev-pending"]),
        ({"routing": "auto"}, ["auto-legit", "auto-fraud"]),
        ({"status": "pending_review"}, ["rev-pending"]),
        ({"status": "reviewed"}, ["rev-confirmed", "rev-overridden"]),
        ({"label": "fraud"}, ["auto-fraud", "rev-confirmed", "rev-overridden"]),
        ({"final_label": "legit"}, ["auto-legit", "rev-overridden"]),
        ({"decision": "overridden"}, ["rev-overridden"]),
        ({"decision": "confirmed"}, ["rev-confirmed"]),
        ({"reviewer": "alice"}, ["rev-confirmed"]),
        ({"reviewer": "bob"}, ["rev-overridden"]),
        ({"reviewer": "carol"}, []),  # decided nothing
        ({"reviewer": "bob", "decision": "confirmed"}, []),
        ({"score_min": 0.5, "score_max": 0.75}, ["rev-confirmed", "rev-overridden"]),
        ({"score_max": 0.4}, ["auto-legit", "rev-pending"]),
        ({"top_reason": "ip_risk_score"}, ["auto-fraud", "rev-confirmed"]),
        ({"top_reason": "distance_from_home_km"}, ["rev-overridden"]),
        ({"top_reason": "amount_to_avg_30d"}, []),
        ({"routing": "review", "label": "fraud"}, ["rev-confirmed", "rev-overridden"]),
    ],
)
def test_each_filter_narrows_the_search(corpus, auditor, surface, params, expected):
    found = SURFACES[surface](auditor, params)

    assert sorted(found) == sorted(expected)
    assert len(found) == len(set(found))


def test_the_page_takes_dates_as_its_date_fields_send_them(corpus, auditor):
    # <input type="datetime-local"> sends minutes and no time zone.
    params = {"created_after": "2026-03-03T09:00", "created_before": "2026-03-05T09:00"}

    assert sorted(_found_through_page(auditor, params)) == ["auto-fraud", "rev-confirmed"]


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, ["rev-pending", "rev-overridden", "rev-confirmed", "auto-fraud", "auto-legit"]),
        ("-created_at", ["rev-pending", "rev-overridden", "rev-confirmed", "auto-fraud", "auto-legit"]),
        ("created_at", ["auto-legit", "auto-fraud", "rev-confirmed", "rev-overridden", "rev-pending"]),
        ("score", ["auto-legit", "rev-pending", "rev-overridden", "rev-confirmed", "auto-fraud"]),
        ("-score", ["auto-fraud", "rev-confirmed", "rev-overridden", "rev-pending", "auto-legit"]),
    ],
)
def test_results_sort_by_time_or_score(corpus, auditor, surface, ordering, expected):
    params = {"ordering": ordering} if ordering else {}

    assert SURFACES[surface](auditor, params) == expected


def test_the_api_answers_with_each_prediction_its_explanation_and_review(corpus, auditor):
    (row,) = _api_pages(auditor, {"request_id": "rev-overridden"})

    prediction = Prediction.objects.select_related("explanation").get(request_id="rev-overridden")
    assert row["model_version"] == 2
    assert (row["label"], row["final_label"], row["score"]) == ("fraud", "legit", 0.55)
    assert (row["routing"], row["status"]) == ("review", "reviewed")
    assert row["features"] == prediction.features
    assert row["explanation"]["values"] == prediction.explanation.values
    assert row["review"]["decision"] == "overridden"
    assert row["review"]["reviewer"] == "bob"
    assert row["review"]["reason"] == "known_customer_behaviour"


# --- cursor pages -----------------------------------------------------------------------


@pytest.fixture
def many(active_model, transactions) -> list[str]:
    """23 predictions, created a minute apart, some with equal scores."""
    records = transactions(23, seed=41)
    created, _ = services.predictions_create_batch(
        api_key=None, items=[{"request_id": f"p-{n:02d}", "features": f} for n, f in enumerate(records)]
    )
    for n, prediction in enumerate(created):
        Prediction.objects.filter(pk=prediction.pk).update(
            created_at=DAY_ONE + timedelta(minutes=n), score=round((n % 5) / 10, 1)
        )
    return [p.request_id for p in created]


@pytest.mark.parametrize("ordering", ["-created_at", "created_at", "score", "-score"])
def test_cursor_pages_walk_every_row_exactly_once(many, auditor, ordering):
    response = auditor.get(SEARCH_URL, {"ordering": ordering, "page_size": 5})
    first = response.json()

    rows = _api_pages(auditor, {"ordering": ordering, "page_size": 5})

    assert response.status_code == 200
    assert len(first["results"]) == 5
    assert "cursor=" in first["next"]
    assert first["previous"] is None
    found = [row["request_id"] for row in rows]
    assert sorted(found) == many
    field = ordering.lstrip("-")
    values = [row[field] for row in rows]
    assert values == sorted(values, reverse=ordering.startswith("-"))


def test_a_cursor_page_keeps_its_place_when_new_predictions_arrive(many, auditor, transactions):
    first = auditor.get(SEARCH_URL, {"page_size": 10}).json()
    services.predictions_create_batch(
        api_key=None, items=[{"request_id": "late", "features": transactions(1)[0]}]
    )

    second = auditor.get(first["next"]).json()

    seen = [row["request_id"] for row in first["results"] + second["results"]]
    assert seen == [f"p-{n:02d}" for n in range(22, 2, -1)]


def test_a_page_size_above_the_maximum_is_capped(many, auditor):
    response = auditor.get(SEARCH_URL, {"page_size": 100_000})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 23


def test_the_page_pages_through_the_results_keeping_the_filters(many, auditor, monkeypatch):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 10)
    first = auditor.get(PAGE_URL, {"routing": "auto"})
    third = auditor.get(PAGE_URL, {"routing": "auto", "page": 3})

    assert (first.status_code, third.status_code) == (200, 200)
    assert TRACE_LINK.findall(first.content.decode()) == [f"p-{n:02d}" for n in range(22, 12, -1)]
    assert re.search(r'href="\?routing=auto&(amp;)?page=2" rel="next"', first.content.decode())
    assert TRACE_LINK.findall(third.content.decode()) == ["p-02", "p-01", "p-00"]
    assert 'rel="next"' not in third.content.decode()


@pytest.mark.parametrize("ordering", ["score", "-score", "created_at", "-created_at"])
def test_the_page_walks_every_row_exactly_once_whatever_the_order(many, auditor, monkeypatch, ordering):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 4)
    found = []
    for page in range(1, 8):
        response = auditor.get(PAGE_URL, {"ordering": ordering, "page": page})
        assert response.status_code == 200
        found += TRACE_LINK.findall(response.content.decode())

    assert sorted(found) == many


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"created_after": "yesterday"},
        {"created_before": "2026-13-45"},
        {"model_version": "latest"},
        {"model_version": "1.5"},
        {"routing": "sideways"},
        {"status": "lost"},
        {"label": "maybe"},
        {"final_label": "maybe"},
        {"decision": "shrug"},
        {"score_min": "high"},
        {"score_max": "NaN-ish"},
        {"ordering": "features"},
        {"request_id": "nul\x00byte"},
        {"reviewer": "nul\x00byte"},
        {"top_reason": "nul\x00byte"},
    ],
)
def test_the_api_refuses_a_bad_filter_naming_the_field(corpus, auditor, params):
    (field,) = params

    response = auditor.get(SEARCH_URL, params)

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_the_api_refuses_a_forged_cursor(corpus, auditor):
    response = auditor.get(SEARCH_URL, {"cursor": "not-a-cursor"})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


@pytest.mark.parametrize(
    "params",
    [
        {"created_after": "yesterday"},
        {"model_version": "latest"},
        {"routing": "sideways"},
        {"score_min": "high"},
        {"page": "last"},
        {"page": "-3"},
        {"page": "99999"},
        {"ordering": "features"},
        {"request_id": "nul\x00byte"},
        {"top_reason": 'a"b%_'},
    ],
)
def test_the_page_shows_bad_filters_without_failing(corpus, auditor, params):
    response = auditor.get(PAGE_URL, params)

    assert response.status_code == 200
    assert b"Audit search" in response.content


def test_the_page_names_the_bad_field_and_lists_nothing(corpus, auditor):
    response = auditor.get(PAGE_URL, {"score_min": "high", "routing": "auto"})

    page = response.content.decode()
    assert response.status_code == 200
    label = re.search(r"<label>Score from (.*?)</label>", page).group(1)
    assert 'aria-describedby="id_score_min_error"' in label
    assert '<span class="error" id="id_score_min_error">Enter a number.</span>' in label
    assert TRACE_LINK.findall(page) == []


def test_a_live_search_says_which_filter_is_wrong(corpus, auditor):
    # The form's fields are not redrawn when htmx swaps in the results: the results say it.
    response = auditor.get(PAGE_URL, {"score_min": "high"}, HTTP_HX_REQUEST="true")
    fixed = auditor.get(PAGE_URL, {"score_min": "0.9"}, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<form" not in page
    assert "Not searched; fix these filters:" in page
    assert "score_min: Enter a number." in page
    assert TRACE_LINK.findall(page) == []
    assert "Not searched" not in fixed.content.decode()
    assert TRACE_LINK.findall(fixed.content.decode()) == ["auto-fraud"]


# --- who may search ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_may_search(corpus, client, make_user, role):
    client.force_login(make_user(role))

    response = client.get(SEARCH_URL, {"routing": "auto"})

    assert response.status_code == 200
    assert sorted(row["request_id"] for row in response.json()["results"]) == ["auto-fraud", "auto-legit"]


@pytest.mark.parametrize("role", ["analyst", None])
def test_analysts_and_users_without_a_role_may_not_search(corpus, client, make_user, role):
    client.force_login(make_user(role))

    response = client.get(SEARCH_URL)

    assert response.status_code == 403
    assert "results" not in response.json()


def test_an_anonymous_search_needs_credentials(corpus):
    response = APIClient().get(SEARCH_URL)

    assert response.status_code == 401
    assert "results" not in response.json()


def test_an_api_key_finds_only_its_own_predictions(active_model, api_client, other_api_client, transactions):
    mine, theirs = transactions(2)
    sent = [
        api_client.post(SEARCH_URL, {"request_id": "mine", "features": mine}, format="json"),
        other_api_client.post(SEARCH_URL, {"request_id": "theirs", "features": theirs}, format="json"),
    ]
    assert [response.status_code for response in sent] == [201, 201]

    found = _found_through_api(api_client, {})
    found_by_id = _found_through_api(api_client, {"request_id": "theirs"})

    assert found == ["mine"]
    assert found_by_id == []
    assert _found_through_api(other_api_client, {}) == ["theirs"]
    assert Prediction.objects.count() == 2
