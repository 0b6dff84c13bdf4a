"""The item page: what the analyst sees, and deciding, claiming and releasing from it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from predictions.models import Explanation, Prediction
from reviews import services
from reviews.models import Decision, ReviewItem
from tests.reviews.factories import digest_of
from tests.reviews.pages import digest_on


@pytest.fixture
def bob_client(other_analyst) -> Client:
    client = Client()
    client.force_login(other_analyst)
    return client


def _open_next(client):
    """Press "Next item" and load the claimed item's page, as the analyst does."""
    response = client.post("/reviews/next/")
    assert response.status_code == 302
    return client.get(response["Location"])


def test_it_shows_the_transaction_and_the_model_verdict(analyst_client, make_items):
    (item,) = make_items(1)
    prediction = item.prediction

    response = _open_next(analyst_client)

    assert response.status_code == 200
    page = response.content.decode()
    assert prediction.request_id in page
    assert f'<dd class="label-{prediction.label}">{prediction.label}</dd>' in page
    assert f"<dd>{prediction.score:.3f}</dd>" in page
    assert f"<dd>{prediction.confidence:.3f}</dd>" in page
    assert "<dd>1.00</dd>" in page  # the review threshold
    assert f"v{prediction.model_version.version}" in page
    assert prediction.created_at.strftime("%Y-%m-%d %H:%M:%S") in page
    # Readable names and units, not just the raw feature keys.
    assert "Transaction amount <code>amount</code>" in page
    assert f'{prediction.features["amount"]}\n          <span class="unit">USD</span>' in page
    assert "Distance between the merchant and the cardholder&#x27;s home" in page
    assert '<span class="unit">km</span>' in page


def test_it_shows_the_explanation_chart(analyst_client, make_items):
    (item,) = make_items(1)
    explanation = Explanation.objects.get(pk=item.prediction_id)
    biggest = max(explanation.values, key=lambda name: abs(explanation.values[name]))
    schema = {spec["name"]: spec for spec in item.prediction.model_version.feature_schema}

    response = _open_next(analyst_client)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Why the model scored it this way" in page
    assert f"base value {explanation.base_value:.2f} log-odds" in page
    # Ten largest contributions, then the rest folded into one row.
    rows = page.count('class="shap-row fraud"') + page.count('class="shap-row legit"')
    assert rows == 11
    assert f"{len(explanation.values) - 10} other features" in page
    first_row = page.split('class="shap-row ', 2)[2]
    assert schema[biggest]["description"].split(",")[0].replace("'", "&#x27;") in first_row
    towards = "fraud" if explanation.values[biggest] > 0 else "legit"
    assert first_row.startswith(towards)
    assert f"towards {towards}" in first_row


def test_the_form_carries_the_digest_of_what_is_shown(analyst_client, make_items):
    (item,) = make_items(1)

    response = _open_next(analyst_client)

    assert response.status_code == 200
    assert digest_on(response) == digest_of(item)


def test_confirming_loads_the_next_item(analyst_client, analyst, make_items):
    first, second = make_items(2)
    page = _open_next(analyst_client)

    response = analyst_client.post(
        f"/reviews/items/{first.pk}/decide/", {"outcome": "confirmed", "digest": digest_on(page)}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/reviews/items/{second.pk}/"
    decision = Decision.objects.get(review_item=first)
    assert decision.outcome == "confirmed"
    assert decision.final_label == first.prediction.label
    assert decision.reviewer == analyst
    second.refresh_from_db()
    assert second.state == ReviewItem.State.CLAIMED
    assert second.claimed_by == analyst


def test_overriding_with_a_reason_from_the_page(analyst_client, make_items):
    (item,) = make_items(1)
    page = _open_next(analyst_client)

    response = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/",
        {
            "outcome": "overridden",
            "reason": "pattern_model_missed",
            "note": "seen before",
            "digest": digest_on(page),
        },
        follow=True,
    )

    assert response.status_code == 200
    assert response.redirect_chain == [("/reviews/", 302)]
    assert "The queue is empty" in response.content.decode()
    decision = Decision.objects.get(review_item=item)
    assert (decision.outcome, decision.reason, decision.note) == (
        "overridden",
        "pattern_model_missed",
        "seen before",
    )
    assert decision.final_label != item.prediction.label
    assert Prediction.objects.get(pk=item.prediction_id).status == Prediction.Status.REVIEWED


def test_an_override_without_a_reason_names_the_reason(analyst_client, make_items):
    (item,) = make_items(1)
    page = _open_next(analyst_client)

    response = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/", {"outcome": "overridden", "digest": digest_on(page)}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["reason"] == ["Choose a reason to override the model."]
    assert 'id="reason-error"' in response.content.decode()
    assert not Decision.objects.exists()
    item.refresh_from_db()
    assert item.state == ReviewItem.State.CLAIMED


def test_an_unknown_outcome_is_refused(analyst_client, make_items):
    (item,) = make_items(1)
    page = _open_next(analyst_client)

    response = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/", {"outcome": "maybe", "digest": digest_on(page)}
    )

    assert response.status_code == 400
    assert "outcome" in response.context["form"].errors
    assert not Decision.objects.exists()


def test_a_second_decision_is_a_conflict_with_a_clear_message(analyst_client, make_items):
    (item,) = make_items(1)
    page = _open_next(analyst_client)
    form = {"outcome": "confirmed", "digest": digest_on(page)}
    analyst_client.post(f"/reviews/items/{item.pk}/decide/", form)

    response = analyst_client.post(f"/reviews/items/{item.pk}/decide/", form)

    assert response.status_code == 409
    assert "This item has already been decided." in response.content.decode()
    assert Decision.objects.count() == 1


def test_another_analyst_cannot_decide_my_item(analyst_client, bob_client, make_items):
    (item,) = make_items(1)
    page = _open_next(analyst_client)

    response = bob_client.post(
        f"/reviews/items/{item.pk}/decide/", {"outcome": "confirmed", "digest": digest_on(page)}
    )

    assert response.status_code == 403
    assert "You do not hold this item" in response.content.decode()
    assert not Decision.objects.exists()
    item.refresh_from_db()
    assert item.claimed_by.username == "alice"


def test_a_stale_form_is_refused_with_a_clear_message(analyst_client, make_items):
    (item,) = make_items(1)
    page = _open_next(analyst_client)
    Explanation.objects.filter(pk=item.prediction_id).update(base_value=-9.0)

    response = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/", {"outcome": "confirmed", "digest": digest_on(page)}
    )

    assert response.status_code == 409
    assert "reload the item and decide again" in response.content.decode()
    assert not Decision.objects.exists()
    assert Prediction.objects.get(pk=item.prediction_id).status == Prediction.Status.PENDING_REVIEW


def test_a_tampered_digest_is_refused(analyst_client, make_items):
    (item,) = make_items(1)
    _open_next(analyst_client)

    response = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/", {"outcome": "confirmed", "digest": "f" * 64}
    )

    assert response.status_code == 409
    assert not Decision.objects.exists()


def test_an_item_held_by_someone_else_shows_who_holds_it(analyst_client, bob_client, make_items):
    (item,) = make_items(1)
    _open_next(bob_client)

    response = analyst_client.get(f"/reviews/items/{item.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "held by bob" in page
    assert 'id="decision-form"' not in page


def test_a_pending_item_offers_to_claim_it(analyst_client, analyst, make_items):
    (item,) = make_items(1)

    page = analyst_client.get(f"/reviews/items/{item.pk}/")
    response = analyst_client.post(f"/reviews/items/{item.pk}/claim/")

    assert page.status_code == 200
    assert f'action="/reviews/items/{item.pk}/claim/"' in page.content.decode()
    assert 'id="decision-form"' not in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == f"/reviews/items/{item.pk}/"
    item.refresh_from_db()
    assert item.claimed_by == analyst


def test_claiming_an_item_someone_holds_says_who(analyst_client, bob_client, make_items):
    (item,) = make_items(1)
    _open_next(bob_client)

    response = analyst_client.post(f"/reviews/items/{item.pk}/claim/", follow=True)

    assert response.status_code == 200
    assert "bob holds this item" in response.content.decode()
    item.refresh_from_db()
    assert item.claimed_by.username == "bob"


def test_a_lease_that_ran_out_offers_to_claim_again(analyst_client, make_items):
    (item,) = make_items(1)
    _open_next(analyst_client)
    ReviewItem.objects.filter(pk=item.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    response = analyst_client.get(f"/reviews/items/{item.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="decision-form"' not in page
    assert f'action="/reviews/items/{item.pk}/claim/"' in page


def test_releasing_returns_the_item_to_the_queue(analyst_client, make_items):
    (item,) = make_items(1)
    _open_next(analyst_client)

    response = analyst_client.post(f"/reviews/items/{item.pk}/release/")

    assert response.status_code == 302
    assert response["Location"] == "/reviews/"
    item.refresh_from_db()
    assert item.state == ReviewItem.State.PENDING
    assert item.claimed_by is None


def test_someone_else_cannot_release_my_item(analyst_client, bob_client, make_items):
    (item,) = make_items(1)
    _open_next(analyst_client)

    response = bob_client.post(f"/reviews/items/{item.pk}/release/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(f"/reviews/items/{item.pk}/", 302)]
    assert "You do not hold this item" in response.content.decode()
    item.refresh_from_db()
    assert item.claimed_by.username == "alice"


def test_a_decided_item_shows_the_decision(analyst_client, analyst, make_items):
    (item,) = make_items(1)
    services.review_item_claim_next(user=analyst)
    services.decision_record(
        item_id=item.pk, user=analyst, outcome="overridden", reason="data_error", seen_digest=digest_of(item)
    )

    response = analyst_client.get(f"/reviews/items/{item.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Overridden</strong> by alice" in page
    assert "(Data error)" in page
    assert 'id="decision-form"' not in page


def test_an_unknown_item_is_not_found(analyst_client, review_model):
    assert analyst_client.get("/reviews/items/999999/").status_code == 404
    assert analyst_client.post("/reviews/items/999999/decide/", {"outcome": "confirmed"}).status_code == 404


def test_after_a_stale_refusal_the_page_shown_can_be_decided(analyst_client, make_items):
    (item,) = make_items(1)
    page = _open_next(analyst_client)
    Explanation.objects.filter(pk=item.prediction_id).update(base_value=-9.0)
    refused = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/", {"outcome": "confirmed", "digest": digest_on(page)}
    )
    assert refused.status_code == 409
    assert "base value -9.00 log-odds" in refused.content.decode()

    response = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/", {"outcome": "confirmed", "digest": digest_on(refused)}
    )

    assert response.status_code == 302
    assert Decision.objects.get(review_item=item).seen_digest == digest_of(item)
