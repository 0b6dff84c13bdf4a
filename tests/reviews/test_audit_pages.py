"""The auditor's pages: a prediction's trace and the event log; who may see them; and an
auditor's writes, every one refused."""

import html

import pytest
from django.test import Client

from audit import selectors as audit_selectors
from audit import services as audit_services
from audit.models import AuditEvent, AuditLink
from predictions import services as prediction_services
from predictions.models import ApiKey, Explanation, ModelVersion, Prediction
from reviews import audit_views, services, webhooks
from reviews.models import CallbackDelivery, Decision, ReviewItem
from tests.predictions.helpers import BATCH_URL, PREDICT_URL, post_json
from tests.reviews.factories import digest_of

NOTE = "Cardholder confirmed the trip <abroad> & the hotel"


@pytest.fixture
def auditor_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("auditor", "audrey"))
    return client


@pytest.fixture
def traced(make_items, analyst, monkeypatch, settings) -> Prediction:
    """A prediction with its whole life: scored, routed, claimed, released, claimed again and
    overridden by alice, and its callback refused once, then delivered."""
    settings.CALLBACK_MAX_ATTEMPTS = 3
    api_key, _ = prediction_services.api_key_create(
        name="shop", callback_url="https://shop.example/hooks", callback_secret="s3cret"
    )
    (item,) = make_items(1, api_key=api_key)
    services.review_item_claim(item_id=item.pk, user=analyst)
    services.review_item_release(item_id=item.pk, user=analyst)
    services.review_item_claim(item_id=item.pk, user=analyst)
    decision = services.decision_record(
        item_id=item.pk,
        user=analyst,
        outcome="overridden",
        reason="confirmed_with_cardholder",
        note=NOTE,
        seen_digest=digest_of(item),
    )
    answers = iter([503, 200])

    def post(**kwargs) -> webhooks.Outcome:
        return webhooks.Outcome(status_code=next(answers), error="", duration_ms=7)

    monkeypatch.setattr(webhooks, "post", post)
    delivery = CallbackDelivery.objects.get(decision=decision)
    services.callback_deliver(delivery_id=delivery.pk)
    services.callback_deliver(delivery_id=delivery.pk)
    return Prediction.objects.select_related("explanation", "model_version").get(pk=item.prediction_id)


def _trace(client, prediction: Prediction):
    return client.get(f"/audit/predictions/{prediction.request_id}/")


# --- the trace --------------------------------------------------------------------------


def test_the_trace_shows_the_input_features(auditor_client, traced):
    response = _trace(auditor_client, traced)

    page = response.content.decode()
    assert response.status_code == 200
    for spec in traced.model_version.feature_schema:
        assert f"<code>{spec['name']}</code>" in page
    assert "Transaction amount <code>amount</code>" in page
    assert f"<dd>{traced.features['amount']}</dd>" in page


def test_the_trace_shows_the_model_verdict(auditor_client, traced):
    response = _trace(auditor_client, traced)

    page = response.content.decode()
    assert response.status_code == 200
    assert f"<dd>{traced.score:.4f}</dd>" in page
    assert f"<dd>{traced.confidence:.4f}</dd>" in page
    assert f'<dd class="label-{traced.label}">{traced.label}</dd>' in page
    assert f"<dd>card-fraud v{traced.model_version.version}</dd>" in page


def test_the_trace_shows_the_explanation_chart(auditor_client, traced):
    explanation = traced.explanation

    response = _trace(auditor_client, traced)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Why the model scored it this way" in page
    assert f"base value {explanation.base_value:.2f} log-odds" in page
    assert page.count('class="shap-row fraud"') + page.count('class="shap-row legit"') == 11
    assert f"{len(explanation.values) - 10} other features" in page


def test_the_trace_shows_the_review(auditor_client, traced):
    decision = Decision.objects.get(review_item__prediction=traced)

    response = _trace(auditor_client, traced)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<dt>Decision</dt><dd>Overridden</dd>" in page
    assert f"<dt>Final label</dt><dd>{decision.final_label}</dd>" in page
    assert "<dt>Reviewer</dt><dd>alice</dd>" in page
    assert "<dt>Reason</dt><dd>Confirmed with cardholder</dd>" in page
    assert f"<blockquote>{html.escape(NOTE)}</blockquote>" in page
    assert NOTE not in page  # the note is escaped, never markup


def test_the_trace_confirms_what_the_reviewer_saw_is_what_is_stored(auditor_client, traced):
    decision = Decision.objects.get(review_item__prediction=traced)

    response = _trace(auditor_client, traced)

    page = response.content.decode()
    assert response.status_code == 200
    assert decision.seen_digest[:19] in page
    assert "✓ matches the stored prediction and explanation" in page
    assert "differs from the stored record" not in page


def test_the_trace_flags_a_record_changed_after_the_decision(auditor_client, traced):
    Explanation.objects.filter(pk=traced.pk).update(base_value=-9.0)

    response = _trace(auditor_client, traced)

    page = response.content.decode()
    assert response.status_code == 200
    assert "✗ differs from the stored record" in page
    assert "matches the stored prediction" not in page


def test_the_trace_shows_the_timeline_of_events_in_order(auditor_client, traced):
    response = _trace(auditor_client, traced)

    page = response.content.decode()
    assert response.status_code == 200
    timeline = page.split('id="timeline-title"', 1)[1]
    steps = [
        "<strong>Prediction Created</strong> by api_key:shop",
        "<strong>Prediction Routed</strong> by system:routing",
        "<strong>Review Claimed</strong> by user:alice",
        "<strong>Review Released</strong> by user:alice",
        "<strong>Review Claimed</strong> by user:alice",
        "<strong>Review Decided</strong> by user:alice",
        "<strong>Callback Delivered</strong> by system:callbacks",
    ]
    rest = timeline
    for step in steps:
        assert step in rest, step
        rest = rest.split(step, 1)[1]
    # Every step but the first is an event; the first is the prediction's own row.
    assert AuditEvent.objects.filter(request_id=traced.request_id).count() == len(steps) - 1


def test_the_trace_lists_every_callback_attempt(auditor_client, traced):
    response = _trace(auditor_client, traced)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Callback to https://shop.example/hooks — delivered" in page
    assert page.index("HTTP 503") < page.index("HTTP 200")
    assert page.count("(7 ms)") == 2


def test_the_timeline_tells_linked_events_from_ones_not_linked_yet(auditor_client, traced):
    unlinked = _trace(auditor_client, traced).content.decode()
    audit_services.audit_chain_extend()
    linked = _trace(auditor_client, traced).content.decode()

    created = audit_selectors.audit_link_of(source="prediction", object_id=traced.pk)
    routed = AuditEvent.objects.get(request_id=traced.request_id, action="prediction.routed")
    routed_link = audit_selectors.audit_link_of(source="event", object_id=routed.pk)
    assert "#None" not in unlinked
    assert "not linked yet" in unlinked
    # The prediction's own row is its `created` evidence, first in its timeline.
    assert "<strong>Prediction Created</strong> by api_key:shop" in linked
    assert f"#{created.seq} · {created.hash[:13]}… · the prediction's own row" in linked
    assert f"#{routed_link.seq} · {routed_link.hash[:13]}" in linked
    assert linked.index("Prediction Created") < linked.index("Prediction Routed")
    assert "not linked yet" not in linked


def test_the_trace_of_an_automatic_decision_says_so(auditor_client, register_model, transactions):
    version = register_model(activate=False)
    ModelVersion.objects.filter(pk=version.pk).update(review_threshold=0.0)
    prediction_services.model_version_activate(version=version.version, actor="test")
    prediction, _ = prediction_services.prediction_create(
        api_key=None, request_id="auto-1", features=transactions(1)[0]
    )

    response = _trace(auditor_client, prediction)

    assert response.status_code == 200
    assert "Decided automatically; no human review." in response.content.decode()


@pytest.mark.parametrize("request_id", ["never-sent", "bad%00id", "%E2%80%AE"])
def test_the_trace_of_an_unknown_prediction_is_not_found(auditor_client, db, request_id):
    response = auditor_client.get(f"/audit/predictions/{request_id}/")

    assert response.status_code == 404


# --- the event log ----------------------------------------------------------------------


def test_the_event_log_lists_events_newest_first_with_their_hashes(auditor_client, traced):
    audit_services.audit_chain_extend()
    newest = AuditLink.objects.filter(source="event").order_by("-seq").first()

    response = auditor_client.get("/audit/events/")

    page = response.content.decode()
    assert response.status_code == 200
    assert f"<tr><td>{newest.seq}</td>" in page
    assert page.index(f"<td>{newest.seq}</td>") < page.index("<td>1</td>")
    assert f"<code>{newest.hash[:13]}…</code>" in page
    assert f'<a href="/audit/predictions/{traced.request_id}/">' in page


def test_the_event_log_pages_back_through_older_events(auditor_client, traced, monkeypatch):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 3)
    audit_services.audit_chain_extend()
    total = AuditEvent.objects.count()

    first = auditor_client.get("/audit/events/").content.decode()
    last_page = (total + 2) // 3
    last = auditor_client.get("/audit/events/", {"page": last_page}).content.decode()

    assert f"<tr><td>{total}</td>" in first
    assert 'rel="next"' in first
    assert "<tr><td>1</td>" in last
    assert 'rel="next"' not in last


def test_the_event_log_shows_unlinked_events_as_such(auditor_client, traced):
    response = auditor_client.get("/audit/events/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "None" not in page
    assert "not linked yet" in page


# --- who may see the audit pages --------------------------------------------------------


def _audit_urls(prediction: Prediction) -> list[str]:
    return [
        "/audit/",
        "/audit/?routing=review",
        "/audit/export.csv",
        "/audit/export.jsonl",
        "/audit/events/",
        f"/audit/predictions/{prediction.request_id}/",
    ]


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_reach_every_audit_page(client, make_user, traced, role):
    client.force_login(make_user(role))

    for url in _audit_urls(traced):
        response = client.get(url)
        assert response.status_code == 200, url
    assert client.get(PREDICT_URL).status_code == 200


@pytest.mark.parametrize("role", ["analyst", None])
def test_analysts_and_users_without_a_role_reach_no_audit_page(client, make_user, traced, role):
    client.force_login(make_user(role))

    for url in _audit_urls(traced):
        response = client.get(url)
        assert response.status_code == 403, url
        assert traced.request_id.encode() not in response.content, url
    assert client.get(PREDICT_URL).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, traced):
    for url in _audit_urls(traced):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next=/audit/"), url
    assert client.get(PREDICT_URL).status_code == 401


def test_the_audit_pages_only_read(auditor_client, traced):
    for url in _audit_urls(traced):
        assert auditor_client.post(url).status_code == 405, url


# --- an auditor's writes are refused ----------------------------------------------------


@pytest.fixture
def held(make_items, analyst) -> ReviewItem:
    """An item alice holds, with another waiting in the queue."""
    make_items(2)
    return services.review_item_claim_next(user=analyst)


def test_an_auditor_cannot_claim_release_or_decide(auditor_client, held):
    waiting = ReviewItem.objects.exclude(pk=held.pk).get()
    events_before = AuditEvent.objects.count()

    responses = {
        "next": auditor_client.post("/reviews/next/"),
        "claim": auditor_client.post(f"/reviews/items/{waiting.pk}/claim/"),
        "release": auditor_client.post(f"/reviews/items/{held.pk}/release/"),
        "decide": auditor_client.post(
            f"/reviews/items/{held.pk}/decide/", {"outcome": "confirmed", "digest": digest_of(held)}
        ),
    }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 403)
    assert ReviewItem.objects.get(pk=waiting.pk).state == ReviewItem.State.PENDING
    held.refresh_from_db()
    assert (held.state, held.claimed_by.username) == (ReviewItem.State.CLAIMED, "alice")
    assert not Decision.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_an_auditor_cannot_score(auditor_client, active_model, transactions):
    one, two = transactions(2)

    single = post_json(auditor_client, PREDICT_URL, {"request_id": "audit-1", "features": one})
    batch = post_json(auditor_client, BATCH_URL, {"items": [{"request_id": "audit-2", "features": two}]})

    assert (single.status_code, batch.status_code) == (403, 403)
    assert single.json() == {"detail": "You do not have permission to perform this action."}
    assert not Prediction.objects.exists()


def test_an_auditor_cannot_activate_a_model_or_create_a_key_in_the_admin(auditor_client, register_model):
    version = register_model(activate=False)
    events_before = AuditEvent.objects.count()

    activate = auditor_client.post(
        "/admin/predictions/modelversion/", {"action": "activate", "_selected_action": [version.pk]}
    )
    create_key = auditor_client.post(
        "/admin/predictions/apikey/add/", {"name": "sneaky", "callback_url": "", "callback_secret": ""}
    )

    for response in (activate, create_key):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.STAGED
    assert not ApiKey.objects.filter(name="sneaky").exists()
    assert AuditEvent.objects.count() == events_before
