"""The analyst workspace in a real browser: log in, claim, read the explanation, decide by keyboard."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from predictions import registry
from predictions import services as prediction_services
from predictions.models import Prediction
from reviews import selectors
from reviews import services as review_services
from reviews.models import Decision, ReviewItem

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"  # what make_user gives everyone
# Git-ignored; the pages are saved here so a person can look at them.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
QUEUE_LENGTH = 6


@pytest.fixture
def review_queue(active_model, api_key_and_secret, transactions) -> list[ReviewItem]:
    """Demo transactions scored by the real model and routed to review, highest priority first."""
    active_model.review_threshold = 1.0  # no score is that confident, so every one needs a person
    active_model.save(update_fields=["review_threshold"])
    registry.forget()
    predictions, _ = prediction_services.predictions_create_batch(
        api_key=api_key_and_secret[0],
        items=[{"request_id": f"e2e-{n}", "features": f} for n, f in enumerate(transactions(QUEUE_LENGTH))],
    )
    review_services.review_items_route(prediction_ids=[p.pk for p in predictions])
    items = list(selectors.available_items().select_related("prediction__explanation"))
    assert len(items) == QUEUE_LENGTH
    return items


def log_in(page: Page, username: str) -> None:
    """Through the login form, as a person would."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def item_url(item: ReviewItem) -> str:
    return f"**/reviews/items/{item.pk}/"


def navigations(page: Page) -> list[str]:
    """The documents the page loads from now on, as 'METHOD /path'."""
    seen: list[str] = []

    def record(request) -> None:
        if request.is_navigation_request():
            seen.append(f"{request.method} {urlsplit(request.url).path}")

    page.on("request", record)
    return seen


def test_an_analyst_claims_the_top_item_and_overrides_it_with_the_keyboard(
    pages, review_queue, make_user, api_client
):
    make_user("analyst", "ana")
    top, following = review_queue[0], review_queue[1]
    page = pages.open()

    # Log in through the form, then land on the queue.
    page.goto("/reviews/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/reviews/$"))
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/reviews/")
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(QUEUE_LENGTH)
    expect(rows.first).to_contain_text(top.prediction.request_id)
    expect(page.locator(".topbar")).to_have_css("background-color", "rgb(22, 35, 58)")  # app.css
    screenshot(page, "queue-1280")

    # `n` (app.js) claims the highest-priority item.
    page.keyboard.press("n")
    page.wait_for_url(item_url(top))
    expect(page.get_by_role("heading", level=1)).to_contain_text(top.prediction.request_id)
    expect(page.locator(".badge.mine")).to_contain_text("you hold it")

    # The explanation chart: one row per feature, largest contribution first, ▲/▼ as text.
    contributions = top.prediction.explanation.values
    largest = max(contributions, key=lambda name: abs(contributions[name]))
    schema = {spec["name"]: spec for spec in top.prediction.model_version.feature_schema}
    chart = page.locator("figure.shap")
    expect(chart).to_contain_text("log-odds")
    steps = chart.locator(".shap-row.fraud, .shap-row.legit")
    expect(steps).to_have_count(11)  # ten features and "8 other features"
    expect(steps.first.locator(".shap-label")).to_contain_text(schema[largest]["description"].split(",")[0])
    arrow = "▲ +" if contributions[largest] > 0 else "▼ "
    expect(steps.first.locator(".shap-num")).to_contain_text(f"{arrow}{contributions[largest]:.3f}")
    for text in steps.locator(".shap-num").all_inner_texts():
        assert re.match(r"^(▲ \+|▼ -)\d+\.\d{3}", text), text

    # The features, with readable names and units.
    features = page.locator(".feature-list > div")
    expect(features).to_have_count(len(schema))
    expect(features.filter(has_text="Transaction amount")).to_contain_text("USD")
    hour = top.prediction.features["hour_of_day"]
    expect(features.filter(has_text="Local hour of the transaction").locator("dd")).to_have_text(
        re.compile(rf"^{hour}\s*$")
    )
    expect(features.filter(has_text="Distance between the merchant")).to_contain_text("km")
    screenshot(page, "item-1280")

    # Override by keyboard only: o focuses the empty reason, choose one, Escape, o submits.
    reason = page.get_by_label("Reason (needed to override)")
    loaded = navigations(page)
    page.keyboard.press("o")
    expect(reason).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(reason).to_have_value(Decision.Reason.KNOWN_CUSTOMER_BEHAVIOUR)
    page.keyboard.press("Escape")
    expect(reason).not_to_be_focused()
    page.keyboard.press("o")

    # The next item loads straight away, without a trip through the list.
    page.wait_for_url(item_url(following))
    flipped = "legit" if top.prediction.label == "fraud" else "fraud"
    expect(page.get_by_role("status")).to_contain_text(
        f"{top.prediction.request_id}: Overridden, final label {flipped}."
    )
    expect(page.locator(".badge.mine")).to_contain_text("you hold it")
    assert loaded == [f"POST /reviews/items/{top.pk}/decide/", f"GET /reviews/items/{following.pk}/"]

    # Upstream sees the decision.
    response = api_client.get(f"/api/v1/predictions/{top.prediction.request_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "reviewed"
    assert body["label"] == top.prediction.label
    assert body["final_label"] == flipped
    assert body["review"]["decision"] == "overridden"
    assert body["review"]["reviewer"] == "ana"
    assert body["review"]["reason"] == "known_customer_behaviour"
    decision = Decision.objects.get(review_item=top)
    assert (decision.outcome, decision.final_label) == (Decision.Outcome.OVERRIDDEN, flipped)
    assert decision.reviewer.username == "ana"
    assert ReviewItem.objects.get(pk=following.pk).claimed_by.username == "ana"
    assert pages.problems == []


def test_a_second_analyst_cannot_decide_an_item_the_first_one_holds(pages, review_queue, make_user):
    make_user("analyst", "ana")
    make_user("analyst", "ben")
    top = review_queue[0]
    ana = pages.open()
    log_in(ana, "ana")
    ana.wait_for_url("**/reviews/")
    ana.get_by_role("button", name="Next item").click()
    ana.wait_for_url(item_url(top))

    ben = pages.open()
    log_in(ben, "ben")
    ben.wait_for_url("**/reviews/")
    ben.goto(f"/reviews/items/{top.pk}/")
    expect(ben.locator(".badge.other")).to_contain_text("held by ana")
    expect(ben.get_by_text("Another analyst is working on this item.")).to_be_visible()
    expect(ben.get_by_role("button", name=re.compile(r"^(Confirm|Override|Claim)"))).to_have_count(0)

    # A forged decision, with a valid CSRF token and digest, is refused by the server.
    token = ben.locator("#next-form input[name=csrfmiddlewaretoken]").input_value()
    response = ben.request.post(
        f"/reviews/items/{top.pk}/decide/",
        form={
            "csrfmiddlewaretoken": token,
            "outcome": "overridden",
            "reason": "other",
            "digest": selectors.review_digest(top.prediction),
        },
    )
    assert response.status == 403
    assert "CSRF verification failed" not in response.text()  # refused as the wrong holder
    assert "held by ana" in response.text()
    assert not Decision.objects.exists()
    held = ReviewItem.objects.select_related("prediction").get(pk=top.pk)
    assert (held.state, held.claimed_by.username) == (ReviewItem.State.CLAIMED, "ana")
    assert (held.prediction.status, held.prediction.final_label) == (Prediction.Status.PENDING_REVIEW, "")

    # Ben's "Next item" gives him the next one down instead.
    ben.get_by_role("button", name="Next item").click()
    ben.wait_for_url(item_url(review_queue[1]))
    assert pages.problems == []


def test_question_mark_shows_the_shortcuts_and_an_override_without_a_reason_is_explained(
    pages, review_queue, make_user
):
    make_user("analyst", "ana")
    top = review_queue[0]
    page = pages.open()
    log_in(page, "ana")
    page.wait_for_url("**/reviews/")
    page.keyboard.press("n")
    page.wait_for_url(item_url(top))

    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_hidden()
    page.keyboard.press("?")
    expect(shortcuts).to_be_visible()
    expect(shortcuts).to_contain_text("Override: choose a reason first")
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()

    page.get_by_role("button", name="Override").click()
    expect(page.locator("#reason-error")).to_have_text("Choose a reason to override the model.")
    expect(page.get_by_label("Reason (needed to override)")).to_be_focused()
    assert not Decision.objects.exists()
    assert pages.problems == []


def test_auditors_are_refused_and_anonymous_people_are_sent_to_log_in(pages, make_user):
    make_user("auditor", "audrey")
    anonymous = pages.open()
    anonymous.goto("/reviews/")
    expect(anonymous).to_have_url(re.compile(r"/accounts/login/\?next=/reviews/$"))
    expect(anonymous.get_by_role("button", name="Log in")).to_be_visible()

    auditor = pages.open()
    log_in(auditor, "audrey")
    auditor.wait_for_url(lambda url: "/accounts/login/" not in url)  # wherever auditors start
    response = auditor.goto("/reviews/")
    assert response.status == 403
    assert pages.problems == []


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_queue_and_item_pages_fit_a_narrow_screen(pages, review_queue, make_user):
    make_user("analyst", "ana")
    page = pages.open(width=420, height=800)
    log_in(page, "ana")
    page.wait_for_url("**/reviews/")
    expect(page.locator("table.queue tbody tr")).to_have_count(QUEUE_LENGTH)
    screenshot(page, "queue-420")
    assert page_width(page) <= 420  # nothing scrolls sideways

    page.keyboard.press("n")
    page.wait_for_url(item_url(review_queue[0]))
    expect(page.locator("figure.shap .shap-row.fraud, figure.shap .shap-row.legit")).to_have_count(11)
    screenshot(page, "item-420")
    assert page_width(page) <= 420
    assert pages.problems == []
