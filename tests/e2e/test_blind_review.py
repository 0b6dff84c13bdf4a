"""Blind review in a real browser: an audit sample's page holds nothing of the model's verdict
until the analyst has labelled it, by keyboard."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from predictions import registry
from predictions import services as prediction_services
from predictions.models import Prediction
from reviews import selectors
from reviews import services as review_services
from reviews.models import Decision, ReviewItem
from tests.e2e.test_analyst_workspace import item_url, log_in, navigations, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUEUE_LENGTH = 12
# Below this confidence a prediction is reviewed sighted; above it, every one is an audit sample.
THRESHOLD = 0.995


@pytest.fixture
def mixed_queue(active_model, api_key_and_secret, transactions) -> list[ReviewItem]:
    """Unsure predictions (sighted items) and audit samples of sure ones (blind items)."""
    active_model.review_threshold = THRESHOLD
    active_model.audit_sample_rate = 1.0
    active_model.save(update_fields=["review_threshold", "audit_sample_rate"])
    registry.forget()
    predictions, _ = prediction_services.predictions_create_batch(
        api_key=api_key_and_secret[0],
        items=[
            {"request_id": f"blind-e2e-{n}", "features": f}
            for n, f in enumerate(transactions(QUEUE_LENGTH, seed=9))
        ],
    )
    review_services.review_items_route(prediction_ids=[p.pk for p in predictions])
    items = list(
        selectors.available_items().select_related("prediction__explanation", "prediction__model_version")
    )
    assert len(items) == QUEUE_LENGTH
    assert any(item.blind for item in items) and not all(item.blind for item in items)
    return items


def verdict_marks(prediction: Prediction) -> list[str]:
    """How sighted pages write the model's verdict on this prediction."""
    marks = [
        f">{prediction.score:.3f}<",
        f">{prediction.confidence:.3f}<",
        f'class="label-{prediction.label}"',
        "Model verdict",
        "Fraud score",
        "log-odds",
        'class="shap',
    ]
    for code in prediction.reason_codes:
        arrow = "▲ +" if code["contribution"] > 0 else "▼ "
        marks.append(f"{arrow}{code['contribution']:.3f}")
    return marks


def assert_no_verdict(html: str, prediction: Prediction) -> None:
    shown = [mark for mark in verdict_marks(prediction) if mark in html]
    assert shown == [], f"the blind page shows {shown}"


def queue_row(page: Page, item: ReviewItem) -> Locator:
    return page.locator("table.queue tbody tr", has_text=item.prediction.request_id)


def test_an_analyst_labels_a_blind_item_without_seeing_the_verdict(pages, mixed_queue, make_user, api_client):
    make_user("analyst", "ana")
    blind = next(item for item in mixed_queue if item.blind)
    sighted = next(item for item in mixed_queue if not item.blind)
    page = pages.open()
    log_in(page, "ana")
    page.wait_for_url("**/reviews/")

    # The queue: a blind row has a badge and no score or confidence; a sighted row has both.
    blind_row = queue_row(page, blind)
    expect(blind_row.locator(".badge.blind")).to_have_text("Blind review")
    expect(blind_row.locator("td.num").nth(1)).to_contain_text("hidden: blind review")
    sighted_row = queue_row(page, sighted)
    expect(sighted_row).to_contain_text(f"{sighted.prediction.score:.3f}")
    expect(sighted_row.locator(".badge.blind")).to_have_count(0)
    # Row by row: a sighted neighbour may well have the same score to three places.
    for item in mixed_queue:
        if item.blind:
            assert_no_verdict(queue_row(page, item).evaluate("row => row.outerHTML"), item.prediction)
    screenshot(page, "blind-queue-1280")

    # Open the blind item and claim it.
    blind_row.get_by_role("link").click()
    page.wait_for_url(item_url(blind))
    page.get_by_role("button", name="Claim this item").click()
    page.wait_for_url(item_url(blind))
    expect(page.locator(".badge.mine")).to_contain_text("you hold it")
    expect(page.locator(".page-head .badge.blind")).to_have_text("Blind review")
    expect(page.get_by_role("heading", name="Transaction")).to_be_visible()
    schema = blind.prediction.model_version.feature_schema
    expect(page.locator(".feature-list > div")).to_have_count(len(schema))
    expect(page.locator("figure.shap")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile(r"^(Confirm|Override)"))).to_have_count(0)
    assert "Model verdict" not in page.locator("main").inner_text()
    assert_no_verdict(page.content(), blind.prediction)
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_contain_text("Label it fraud")
    page.keyboard.press("Escape")
    screenshot(page, "blind-item-1280")

    # f labels it fraud; the next item loads straight away.
    loaded = navigations(page)
    page.keyboard.press("f")
    page.wait_for_url(lambda url: f"/reviews/items/{blind.pk}/" not in url)
    expect(page.get_by_role("status")).to_contain_text(
        f"{blind.prediction.request_id}: labelled fraud (blind review)."
    )
    assert loaded[0] == f"POST /reviews/items/{blind.pk}/decide/"

    decision = Decision.objects.get(review_item=blind)
    assert (decision.final_label, decision.blind, decision.reason) == ("fraud", True, "")
    assert decision.outcome == ("confirmed" if blind.prediction.label == "fraud" else "overridden")
    prediction = Prediction.objects.get(pk=blind.prediction_id)
    assert (prediction.status, prediction.final_label) == (Prediction.Status.DECIDED, blind.prediction.label)

    # Decided, its page shows the verdict beside the blind label.
    page.goto(f"/reviews/items/{blind.pk}/")
    expect(page.locator(".badge.done")).to_have_text("decided")
    expect(page.locator(".decide")).to_contain_text("Labelled fraud by ana")
    expect(page.locator(".decide")).to_contain_text(f"the model said {blind.prediction.label}")
    expect(page.locator("figure.shap")).to_have_count(1)
    screenshot(page, "blind-item-decided-1280")

    # Upstream's read: the automatic decision stands, the review beside it.
    body = api_client.get(f"/api/v1/predictions/{blind.prediction.request_id}/").json()
    assert (body["status"], body["final_label"]) == ("decided", blind.prediction.label)
    assert body["review_reason"] == "audit_sample"
    assert body["review"]["final_label"] == "fraud"
    assert pages.problems == []
