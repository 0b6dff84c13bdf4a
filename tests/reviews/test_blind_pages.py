"""Blind review on the pages: nothing of the model's verdict reaches a blind reviewer's browser.

Not hidden by CSS: absent from the HTML, on the queue, "my items", the item page, the queue's
partials and the read API, until the item is decided.
"""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from predictions.models import Prediction
from predictions.scoring import label_opposite
from reviews import services
from reviews.models import Decision, ReviewItem
from tests.reviews.factories import digest_of
from tests.reviews.pages import digest_on, listed


def _open_next(client):
    """Press "Next item" and load the claimed item's page, as the analyst does."""
    response = client.post("/reviews/next/")
    assert response.status_code == 302
    return client.get(response["Location"])


def _verdict_shown(page: str, prediction: Prediction) -> list[str]:
    """Every trace of the model's verdict on `prediction` that the page holds, as sighted pages write it."""
    explanation = prediction.explanation
    marks = {
        "score": f">{prediction.score:.3f}<",
        "raw score": repr(prediction.score),
        "confidence": f">{prediction.confidence:.3f}<",
        "raw confidence": repr(prediction.confidence),
        "label": f'class="label-{prediction.label}"',
        "confirm button": f"Confirm: {prediction.label}",
        "override button": f"Override: {label_opposite(prediction.label)}",
        "verdict card": "Model verdict",
        "score heading": "Fraud score",
        "explanation chart": 'class="shap',
        "explanation title": "Why the model scored it this way",
        "base value": f"base value {explanation.base_value:.2f} log-odds",
    }
    for code in prediction.reason_codes:
        contribution = code["contribution"]
        arrow = "▲ +" if contribution > 0 else "▼ "
        marks[f"contribution of {code['feature']}"] = f"{arrow}{contribution:.3f}"
    return [name for name, mark in marks.items() if mark in page]


def _with_explanation(item: ReviewItem) -> Prediction:
    return Prediction.objects.select_related("model_version", "explanation").get(pk=item.prediction_id)


def _row(page: str, request_id: str) -> str:
    """The queue table's row of one request."""
    match = re.search(rf"<tr[^>]*>\s*<td><a [^>]*>{re.escape(request_id)}</a>.*?</tr>", page, re.S)
    assert match, f"no row for {request_id}"
    return match.group(0)


# --- the item page ----------------------------------------------------------------------


def test_a_blind_item_page_shows_the_transaction_and_nothing_of_the_verdict(analyst_client, make_samples):
    (item,) = make_samples(1)
    prediction = _with_explanation(item)

    response = _open_next(analyst_client)

    assert response.status_code == 200
    page = response.content.decode()
    assert _verdict_shown(page, prediction) == []
    assert f"v{prediction.model_version.version}" not in page
    assert str(item.priority) not in page
    assert "Blind review" in page
    assert "Transaction amount <code>amount</code>" in page
    assert f"<dd>{prediction.features['amount']}\n" in page
    # The buttons are the analyst's labels; neither label is named more often than the other.
    assert 'id="fraud-button" aria-keyshortcuts="f"' in page
    assert 'id="legit-button" aria-keyshortcuts="l"' in page
    assert 'id="confirm-button"' not in page
    assert page.lower().count("fraud") == page.lower().count("legit")
    assert digest_on(response) == digest_of(item)


def test_a_blind_item_shows_nothing_of_the_verdict_to_whoever_looks(
    analyst_client, other_analyst, make_samples
):
    (item,) = make_samples(1)
    prediction = _with_explanation(item)
    pending = analyst_client.get(f"/reviews/items/{item.pk}/")
    services.review_item_claim(item_id=item.pk, user=other_analyst)

    held_by_bob = analyst_client.get(f"/reviews/items/{item.pk}/")

    for response in (pending, held_by_bob):
        assert response.status_code == 200
        assert _verdict_shown(response.content.decode(), prediction) == []


def test_labelling_a_blind_item_from_the_page(analyst_client, analyst, make_samples):
    (item,) = make_samples(1)
    page = _open_next(analyst_client)
    analysts_label = label_opposite(item.prediction.label)

    response = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/",
        {"label": analysts_label, "note": "too far from home", "digest": digest_on(page)},
        follow=True,
    )

    assert response.status_code == 200
    assert response.redirect_chain == [("/reviews/", 302)]
    text = response.content.decode()
    assert f"{item.prediction.request_id}: labelled {analysts_label} (blind review)." in text
    decision = Decision.objects.get(review_item=item)
    assert (decision.final_label, decision.outcome, decision.blind) == (analysts_label, "overridden", True)
    assert decision.note == "too far from home"
    assert decision.reviewer == analyst
    assert Prediction.objects.get(pk=item.prediction_id).final_label == item.prediction.label


def test_a_blind_item_cannot_be_confirmed_from_the_page(analyst_client, make_samples):
    (item,) = make_samples(1)
    page = _open_next(analyst_client)

    response = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/", {"outcome": "confirmed", "digest": digest_on(page)}
    )

    assert response.status_code == 400
    assert "label" in response.context["form"].errors
    assert 'id="label-error"' in response.content.decode()
    assert _verdict_shown(response.content.decode(), _with_explanation(item)) == []
    assert not Decision.objects.exists()


def test_a_stale_blind_page_is_refused_without_showing_the_verdict(analyst_client, make_samples):
    (item,) = make_samples(1)
    page = _open_next(analyst_client)
    Prediction.objects.filter(pk=item.prediction_id).update(
        features={**item.prediction.features, "amount": item.prediction.features["amount"] + 1}
    )

    response = analyst_client.post(
        f"/reviews/items/{item.pk}/decide/", {"label": "fraud", "digest": digest_on(page)}
    )

    assert response.status_code == 409
    assert "reload the item and decide again" in response.content.decode()
    assert digest_on(response) == digest_of(item)  # the page now shows what is stored
    assert _verdict_shown(response.content.decode(), _with_explanation(item)) == []
    assert not Decision.objects.exists()


def test_once_decided_the_item_page_shows_the_verdict_and_the_blind_label(
    analyst_client, analyst, make_samples
):
    (item,) = make_samples(1)
    services.review_item_claim(item_id=item.pk, user=analyst)
    analysts_label = label_opposite(item.prediction.label)
    services.decision_record(item_id=item.pk, user=analyst, label=analysts_label, seen_digest=digest_of(item))

    response = analyst_client.get(f"/reviews/items/{item.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    shown = _verdict_shown(page, _with_explanation(item))
    assert {"score", "confidence", "label", "verdict card", "explanation chart", "base value"} <= set(shown)
    assert f"Labelled <strong>{analysts_label}</strong> by alice" in page
    assert f"the model said <strong>{item.prediction.label}</strong>" in page
    assert "(overridden)" in page
    assert 'id="decision-form"' not in page


def test_a_sighted_item_page_still_shows_the_verdict(analyst_client, make_items):
    (item,) = make_items(1)

    response = _open_next(analyst_client)

    shown = _verdict_shown(response.content.decode(), _with_explanation(item))
    assert {"score", "confidence", "label", "confirm button", "explanation chart"} <= set(shown)
    assert "Blind review" not in response.content.decode()


# --- the queue and "my items" -------------------------------------------------------------


def test_the_queue_lists_blind_items_without_their_verdict(analyst_client, make_samples):
    items = make_samples(3)

    full = analyst_client.get("/reviews/")
    partial = analyst_client.get("/reviews/", headers={"HX-Request": "true"})

    for response in (full, partial):
        assert response.status_code == 200
        page = response.content.decode()
        assert listed(response) == [item.prediction.request_id for item in items]
        assert page.count('<span class="badge blind">Blind review</span>') == 3
        for item in items:
            assert _verdict_shown(page, _with_explanation(item)) == []
            assert str(item.priority) not in page


def test_my_items_shows_a_held_blind_item_without_its_verdict(analyst_client, make_samples):
    (item,) = make_samples(1)
    _open_next(analyst_client)

    response = analyst_client.get("/reviews/mine/")

    assert response.status_code == 200
    assert listed(response) == [item.prediction.request_id]
    assert _verdict_shown(response.content.decode(), _with_explanation(item)) == []


def test_in_a_mixed_queue_only_the_sighted_rows_show_a_score(settings, analyst_client, make_items):
    settings.BLIND_REVIEW_RATE = 0.5
    items = make_items(12)
    blind = [item for item in items if item.blind]
    sighted = [item for item in items if not item.blind]
    assert blind and sighted, "a rate of one half should make some of twelve blind and some not"

    page = analyst_client.get("/reviews/").content.decode()

    for item in blind:
        row = _row(page, item.prediction.request_id)
        assert "Blind review" in row
        assert row.count("hidden: blind review") == 2  # the score and confidence cells
        assert _verdict_shown(row, _with_explanation(item)) == []
    for item in sighted:
        row = _row(page, item.prediction.request_id)
        assert "Blind review" not in row
        assert {"score", "confidence"} <= set(_verdict_shown(row, _with_explanation(item)))


@pytest.mark.parametrize(
    "bounds", [{"score_min": "0"}, {"score_max": "1"}, {"score_min": "0", "score_max": "1"}]
)
def test_a_score_filter_never_finds_a_blind_item(settings, analyst_client, make_items, bounds):
    # A range that found one would tell its reviewer the score its page hides.
    settings.BLIND_REVIEW_RATE = 0.5
    items = make_items(12)
    sighted = [item.prediction.request_id for item in items if not item.blind]

    unfiltered = analyst_client.get("/reviews/")
    filtered = analyst_client.get("/reviews/", bounds)

    assert len(listed(unfiltered)) == 12
    assert listed(filtered) == sighted


def test_the_queue_counts_are_figures_only(analyst_client, make_samples):
    (item,) = make_samples(1)

    response = analyst_client.get("/reviews/counts/")

    assert response.status_code == 200
    page = response.content.decode()
    assert _verdict_shown(page, _with_explanation(item)) == []
    assert item.prediction.request_id not in page


def test_claiming_the_next_blind_item_redirects_to_its_page_only(analyst_client, make_samples):
    (item,) = make_samples(1)

    response = analyst_client.post("/reviews/next/")

    assert response.status_code == 302
    assert response["Location"] == f"/reviews/items/{item.pk}/"
    assert response.content == b""


# --- the read API and the audit pages ---------------------------------------------------------


@pytest.fixture
def blind_pending(make_samples) -> ReviewItem:
    (item,) = make_samples(1)
    return item


def _detail(client: Client, item: ReviewItem):
    return client.get(f"/api/v1/predictions/{item.prediction.request_id}/")


def test_an_analyst_cannot_read_an_undecided_blind_prediction(analyst_client, blind_pending):
    response = _detail(analyst_client, blind_pending)

    assert response.status_code == 404
    assert response.json() == {"detail": "No Prediction matches the given query."}


def test_an_analyst_cannot_read_a_blind_unsure_prediction_either(settings, analyst_client, make_items):
    settings.BLIND_REVIEW_RATE = 1.0
    (item,) = make_items(1)

    assert _detail(analyst_client, item).status_code == 404


def test_an_analyst_reads_a_blind_prediction_once_it_is_decided(analyst_client, analyst, blind_pending):
    services.review_item_claim(item_id=blind_pending.pk, user=analyst)
    services.decision_record(
        item_id=blind_pending.pk, user=analyst, label="fraud", seen_digest=digest_of(blind_pending)
    )

    response = _detail(analyst_client, blind_pending)

    assert response.status_code == 200
    assert response.json()["score"] == blind_pending.prediction.score
    assert response.json()["review"]["final_label"] == "fraud"


def test_an_analyst_still_reads_sighted_predictions(analyst_client, make_items):
    (item,) = make_items(1)

    response = _detail(analyst_client, item)

    assert response.status_code == 200
    assert response.json()["label"] == item.prediction.label


@pytest.mark.parametrize("roles", [["auditor"], ["admin"], ["analyst", "auditor"]])
def test_auditors_and_admins_read_an_undecided_blind_prediction(client, make_user, blind_pending, roles):
    user = make_user(roles[0], "someone")
    for role in roles[1:]:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)

    response = _detail(client, blind_pending)

    assert response.status_code == 200
    assert response.json()["label"] == blind_pending.prediction.label


def test_upstream_reads_its_undecided_sample_with_the_automatic_decision(
    make_samples, api_client, api_key_and_secret
):
    (item,) = make_samples(1, api_key=api_key_and_secret[0])

    response = api_client.get(f"/api/v1/predictions/{item.prediction.request_id}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["final_label"]) == ("decided", item.prediction.label)
    assert body["review"]["state"] == "pending"


@pytest.mark.parametrize("url", ["/audit/", "/audit/predictions/{request_id}/", "/audit/export.csv"])
def test_an_analyst_reaches_no_audit_page_of_a_blind_prediction(analyst_client, blind_pending, url):
    response = analyst_client.get(url.format(request_id=blind_pending.prediction.request_id))

    assert response.status_code == 403


def test_the_audit_trace_checks_a_blind_decision_against_what_its_reviewer_saw(
    client, make_user, analyst, blind_pending
):
    services.review_item_claim(item_id=blind_pending.pk, user=analyst)
    services.decision_record(
        item_id=blind_pending.pk, user=analyst, label="legit", seen_digest=digest_of(blind_pending)
    )
    client.force_login(make_user("auditor", "audrey"))

    response = client.get(f"/audit/predictions/{blind_pending.prediction.request_id}/")

    assert response.status_code == 200
    assert "✓ matches the stored prediction and explanation" in response.content.decode()
