"""The audit log: one event per state change, in the change's transaction; a hash chain that
never forks; an append-only table; a verifier that names the first altered event."""

import hashlib
import itertools
import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import chain
from audit import selectors as audit_selectors
from audit import services as audit_services
from audit.digests import sorted_json
from audit.models import AuditEvent, AuditLink, AuditPending
from audit.sources import EVENT, chain_source
from predictions import persistence
from predictions import services as prediction_services
from predictions.evidence import PREDICTION, PREDICTION_SOURCE, prediction_content
from predictions.models import ApiKey, Explanation, ModelVersion, Prediction
from reviews import services, webhooks
from reviews.models import CallbackDelivery, Decision, ReviewItem
from tests.predictions.helpers import BATCH_URL, PREDICT_URL, post_json
from tests.reviews.factories import digest_of

Action = AuditEvent.Action
EVENT_SOURCE = chain_source(EVENT)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def root_client(client, make_user):
    """Signed in to the admin as root, a superuser."""
    client.force_login(make_user("admin", "root"))
    return client


@pytest.fixture
def features(transactions) -> dict:
    return transactions(1)[0]


# --- predictions ------------------------------------------------------------------------


def _queued(source: str = PREDICTION) -> list[int]:
    return list(AuditPending.objects.filter(source=source).order_by("id").values_list("object_id", flat=True))


def _linked(source: str = PREDICTION) -> list[int]:
    return list(AuditLink.objects.filter(source=source).order_by("seq").values_list("object_id", flat=True))


def test_a_scored_prediction_is_its_own_created_evidence(active_model, api_client, features):
    audit_services.audit_chain_extend()  # the fixtures' events (the model, the key)
    head = AuditLink.objects.order_by("seq").last()
    response = post_json(api_client, PREDICT_URL, {"request_id": "order-1", "features": features})

    assert response.status_code == 201
    prediction = Prediction.objects.get(request_id="order-1")
    # No event row repeats the prediction: its own row is queued for the chain, in its transaction.
    assert not AuditEvent.objects.filter(request_id="order-1").exists()
    assert _queued() == [prediction.pk]

    assert audit_services.audit_chain_extend() == 1

    (link,) = AuditLink.objects.filter(source=PREDICTION)
    assert (link.seq, link.object_id, link.prev_hash) == (head.seq + 1, prediction.pk, head.hash)
    text = prediction_content(PREDICTION_SOURCE.rows([prediction.pk])[prediction.pk], link.seq)
    content = json.loads(text)
    # JSON columns are covered as the database spells them back, not parsed and spelled again.
    features, reason_codes = content.pop("features"), content.pop("reason_codes")
    assert (json.loads(features), json.loads(reason_codes)) == (prediction.features, prediction.reason_codes)
    assert content == {
        "seq": head.seq + 1,
        "source": "prediction",
        "id": prediction.pk,
        "created_at": prediction.created_at.isoformat(),
        "request_id": "order-1",
        "api_key_id": prediction.api_key_id,
        "scored_by": None,
        "model_version_id": active_model.pk,
        "features_digest": prediction.features_digest,
        "score": prediction.score,
        "label": prediction.label,
        "confidence": prediction.confidence,
        "routing": prediction.routing,
        "review_reason": prediction.review_reason,
        "inclusion_probability": prediction.inclusion_probability,
    }
    assert text == sorted_json({**content, "features": features, "reason_codes": reason_codes})
    assert link.hash == chain.chain_hash(head.hash, text)
    assert _queued() == []
    assert audit_selectors.audit_chain_verify().ok


def test_a_prediction_an_admin_scores_names_the_admin(active_model, client, make_user, features):
    client.force_login(make_user("admin", "root"))

    response = client.post(
        PREDICT_URL, {"request_id": "order-1", "features": features}, content_type="application/json"
    )

    assert response.status_code == 201
    prediction = Prediction.objects.get(request_id="order-1")
    assert (prediction.api_key_id, prediction.scored_by) == (None, "user:root")
    audit_services.audit_chain_extend()
    link = audit_selectors.audit_link_of(source=PREDICTION, object_id=prediction.pk)
    content = prediction_content(PREDICTION_SOURCE.rows([prediction.pk])[prediction.pk], link.seq)
    assert json.loads(content)["scored_by"] == "user:root"  # covered by the chain


def test_scoring_a_batch_queues_every_prediction_in_order(active_model, api_client, transactions):
    items = [{"request_id": f"order-{n}", "features": f} for n, f in enumerate(transactions(3))]

    response = post_json(api_client, BATCH_URL, {"items": items})

    assert response.status_code == 201
    stored = list(Prediction.objects.order_by("request_id").values_list("pk", flat=True))
    assert _queued() == stored
    assert not AuditEvent.objects.filter(request_id__startswith="order-").exists()
    audit_services.audit_chain_extend()
    assert _linked() == stored


def test_a_repeated_request_is_queued_once(active_model, api_client, features):
    first = post_json(api_client, PREDICT_URL, {"request_id": "order-1", "features": features})
    again = post_json(api_client, PREDICT_URL, {"request_id": "order-1", "features": features})

    assert (first.status_code, again.status_code) == (201, 200)
    assert _queued() == [Prediction.objects.get().pk]


def test_a_refused_batch_queues_nothing(active_model, api_client, transactions):
    good, bad = transactions(2)
    del bad["amount"]
    events_before = AuditEvent.objects.count()

    response = post_json(api_client, BATCH_URL, {"items": [{"features": good}, {"features": bad}]})

    assert response.status_code == 400
    assert "1" in response.json()["items"]
    assert not Prediction.objects.exists()
    assert (_queued(), AuditEvent.objects.count()) == ([], events_before)


def test_a_prediction_that_fails_after_it_was_queued_leaves_no_entry(active_model, features, monkeypatch):
    # The prediction and its queue entry are written together (one statement on PostgreSQL,
    # one transaction elsewhere): when the write fails after the entry, the entry goes with it.
    def then_fail(real):
        def insert(*args):
            real(*args)
            assert len(_queued()) == 1
            raise RuntimeError("the database went away")

        return insert

    for name in ("_insert_postgresql", "_insert_orm"):
        monkeypatch.setattr(persistence, name, then_fail(getattr(persistence, name)))

    with pytest.raises(RuntimeError):
        prediction_services.prediction_create(api_key=None, request_id="order-1", features=features)

    assert not Prediction.objects.exists()
    assert _queued() == []


def test_routing_writes_one_routed_event_per_prediction(review_model, transactions):
    created, _ = prediction_services.predictions_create_batch(
        api_key=None, items=[{"request_id": f"txn-{n}", "features": f} for n, f in enumerate(transactions(2))]
    )

    routed = services.review_items_route(prediction_ids=[p.pk for p in created])
    again = services.review_items_route(prediction_ids=[p.pk for p in created])

    assert (routed, again) == (2, 0)
    events = _events(Action.PREDICTION_ROUTED)
    assert sorted((e.request_id, e.object_id) for e in events) == [(p.request_id, str(p.pk)) for p in created]
    for event in events:
        assert event.actor == "system:routing"
        assert event.before == {"routing_state": "pending"}
        assert event.after == {"routing_state": "done", "queue": "review"}


# --- reviews ----------------------------------------------------------------------------


def test_claiming_writes_a_claimed_event(make_items, analyst):
    make_items(2)

    item = services.review_item_claim_next(user=analyst)

    (event,) = _events(Action.REVIEW_CLAIMED)
    assert event.actor == "user:alice"
    assert event.request_id == item.prediction.request_id
    assert (event.object_type, event.object_id) == ("review_item", str(item.pk))
    assert event.before is None
    assert event.after == {"state": "claimed", "lease_expires_at": chain.plain(item.lease_expires_at)}
    assert event.after["lease_expires_at"].startswith(item.lease_expires_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_claiming_a_chosen_item_writes_a_claimed_event(make_items, analyst):
    _, second = make_items(2)

    services.review_item_claim(item_id=second.pk, user=analyst)

    (event,) = _events(Action.REVIEW_CLAIMED)
    assert event.object_id == str(second.pk)
    assert event.request_id == second.prediction.request_id


def test_a_refused_claim_writes_no_event(make_items, analyst, other_analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)

    with pytest.raises(services.NotHolder):
        services.review_item_claim(item_id=item.pk, user=other_analyst)

    assert [e.actor for e in _events(Action.REVIEW_CLAIMED)] == ["user:alice"]


def test_releasing_writes_a_released_event(make_items, analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)

    services.review_item_release(item_id=item.pk, user=analyst)

    (event,) = _events(Action.REVIEW_RELEASED)
    assert event.actor == "user:alice"
    assert event.request_id == item.prediction.request_id
    assert (event.before, event.after) == ({"state": "claimed"}, {"state": "pending"})


def test_a_refused_release_writes_no_event(make_items, analyst, other_analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)

    with pytest.raises(services.NotHolder):
        services.review_item_release(item_id=item.pk, user=other_analyst)

    assert _events(Action.REVIEW_RELEASED) == []
    assert ReviewItem.objects.get(pk=item.pk).state == ReviewItem.State.CLAIMED


def test_an_expired_lease_writes_a_lease_expired_event(make_items, analyst):
    held, _ = make_items(2)
    services.review_item_claim(item_id=held.pk, user=analyst)
    ReviewItem.objects.filter(pk=held.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert services.review_leases_expire() == 1

    (event,) = _events(Action.REVIEW_LEASE_EXPIRED)
    assert event.actor == "system:lease_expiry"
    assert event.object_id == str(held.pk)
    assert event.request_id == held.prediction.request_id
    assert event.before == {"state": "claimed", "claimed_by": "alice"}
    assert event.after == {"state": "pending"}


def test_deciding_writes_a_decided_event(make_items, analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)
    digest = digest_of(item)

    decision = services.decision_record(
        item_id=item.pk,
        user=analyst,
        outcome="overridden",
        reason="confirmed_with_cardholder",
        note="called them",
        seen_digest=digest,
    )

    (event,) = _events(Action.REVIEW_DECIDED)
    assert event.actor == "user:alice"
    assert event.request_id == item.prediction.request_id
    assert event.object_id == str(item.pk)
    assert event.before == {"status": "pending_review", "label": item.prediction.label}
    assert event.after == {
        "outcome": "overridden",
        "final_label": decision.final_label,
        "reason": "confirmed_with_cardholder",
        "note": "called them",
        "seen_digest": digest,
    }


def test_a_refused_decision_writes_no_event(make_items, analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)

    with pytest.raises(services.StaleView):
        services.decision_record(item_id=item.pk, user=analyst, outcome="confirmed", seen_digest="0" * 64)

    assert _events(Action.REVIEW_DECIDED) == []


def test_a_decision_that_fails_after_its_event_leaves_no_event(make_items, analyst, monkeypatch):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)

    def fail(decision, prediction):
        assert len(_events(Action.REVIEW_DECIDED)) == 1  # written, not yet committed
        raise RuntimeError("the outbox is broken")

    monkeypatch.setattr(services, "_callback_create", fail)

    with pytest.raises(RuntimeError):
        services.decision_record(
            item_id=item.pk, user=analyst, outcome="confirmed", seen_digest=digest_of(item)
        )

    assert _events(Action.REVIEW_DECIDED) == []
    assert not Decision.objects.exists()
    assert ReviewItem.objects.get(pk=item.pk).state == ReviewItem.State.CLAIMED


# --- callbacks --------------------------------------------------------------------------


@pytest.fixture
def delivery(make_items, analyst, settings) -> CallbackDelivery:
    """A decision's pending callback to an upstream system; two attempts before it is dead."""
    settings.CALLBACK_MAX_ATTEMPTS = 2
    api_key, _ = prediction_services.api_key_create(
        name="shop", callback_url="https://shop.example/hooks", callback_secret="s3cret"
    )
    (item,) = make_items(1, api_key=api_key)
    services.review_item_claim(item_id=item.pk, user=analyst)
    decision = services.decision_record(
        item_id=item.pk, user=analyst, outcome="confirmed", seen_digest=digest_of(item)
    )
    return CallbackDelivery.objects.get(decision=decision)


def _upstream_answers(monkeypatch, status_code: int) -> None:
    monkeypatch.setattr(
        webhooks, "post", lambda **kwargs: webhooks.Outcome(status_code=status_code, error="", duration_ms=4)
    )


def test_a_delivered_callback_writes_a_delivered_event(delivery, monkeypatch):
    _upstream_answers(monkeypatch, 204)

    services.callback_deliver(delivery_id=delivery.pk)

    (event,) = _events(Action.CALLBACK_DELIVERED)
    assert event.actor == "system:callbacks"
    assert event.request_id == delivery.payload["request_id"]
    assert (event.object_type, event.object_id) == ("callback_delivery", str(delivery.pk))
    assert event.after == {
        "state": "delivered",
        "attempts": 1,
        "url": "https://shop.example/hooks",
        "status_code": 204,
    }


def test_a_callback_that_runs_out_of_attempts_writes_one_dead_event(delivery, monkeypatch):
    _upstream_answers(monkeypatch, 503)

    services.callback_deliver(delivery_id=delivery.pk)
    assert _events(Action.CALLBACK_DEAD) == []  # a retry is still to come: no state change yet
    services.callback_deliver(delivery_id=delivery.pk)

    (event,) = _events(Action.CALLBACK_DEAD)
    assert event.request_id == delivery.payload["request_id"]
    assert event.after["state"] == "dead"
    assert event.after["attempts"] == 2
    assert event.after["status_code"] == 503
    assert _events(Action.CALLBACK_DELIVERED) == []


def test_replaying_a_dead_callback_in_the_admin_writes_a_replayed_event(delivery, monkeypatch, root_client):
    _upstream_answers(monkeypatch, 500)
    services.callback_deliver(delivery_id=delivery.pk)
    services.callback_deliver(delivery_id=delivery.pk)

    response = root_client.post(
        "/admin/reviews/callbackdelivery/", {"action": "replay", "_selected_action": [delivery.pk]}
    )

    assert response.status_code == 302
    (event,) = _events(Action.CALLBACK_REPLAYED)
    assert event.actor == "user:root"
    assert event.request_id == delivery.payload["request_id"]
    assert event.after == {"state": "pending", "attempts": 0, "url": "https://shop.example/hooks"}
    assert CallbackDelivery.objects.get(pk=delivery.pk).state == CallbackDelivery.State.PENDING


# --- models -----------------------------------------------------------------------------


def test_registering_a_model_writes_a_registered_event(register_model):
    version = register_model(activate=False)

    (event,) = AuditEvent.objects.all()
    assert event.action == Action.MODEL_REGISTERED
    assert event.actor == "system:train_model"
    assert (event.object_type, event.object_id) == ("model_version", str(version.version))
    assert event.after["sha256"] == version.sha256
    assert event.after["training"] == {"source": "test"}
    assert event.after["metrics"] == json.loads(json.dumps(version.metrics))


def test_activating_and_rolling_back_are_told_apart(register_model):
    first = register_model()
    second = register_model()

    prediction_services.model_version_activate(version=first.version, actor="user:root")

    events = list(
        AuditEvent.objects.filter(object_type="model_version")
        .exclude(action=Action.MODEL_REGISTERED)
        .order_by("id")
    )
    assert [(e.action, e.object_id, e.before, e.after) for e in events] == [
        (Action.MODEL_ACTIVATED, str(first.version), {"active_version": None}, {"active_version": 1}),
        (Action.MODEL_ACTIVATED, str(second.version), {"active_version": 1}, {"active_version": 2}),
        (Action.MODEL_ROLLED_BACK, str(first.version), {"active_version": 2}, {"active_version": 1}),
    ]
    assert events[-1].actor == "user:root"
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).version == first.version


def test_activating_a_model_in_the_admin_writes_an_event_naming_the_admin(register_model, root_client):
    version = register_model(activate=False)

    response = root_client.post(
        "/admin/predictions/modelversion/", {"action": "activate", "_selected_action": [version.pk]}
    )

    assert response.status_code == 302
    (event,) = _events(Action.MODEL_ACTIVATED)
    assert event.actor == "user:root"
    assert event.object_id == str(version.version)


# --- API keys ---------------------------------------------------------------------------


def test_creating_rotating_and_revoking_a_key_write_one_event_each(db):
    api_key, _ = prediction_services.api_key_create(
        name="shop", callback_url="https://shop.example/hooks", actor="cli:ops"
    )
    first_prefix = api_key.prefix
    prediction_services.api_key_rotate(api_key=api_key, actor="cli:ops")
    prediction_services.api_key_revoke(api_key=api_key, actor="cli:ops")

    events = list(AuditEvent.objects.order_by("id"))
    assert [e.action for e in events] == ["api_key.created", "api_key.rotated", "api_key.revoked"]
    assert {(e.actor, e.object_id) for e in events} == {("cli:ops", str(api_key.pk))}
    assert events[0].after == {
        "name": "shop",
        "prefix": first_prefix,
        "callback_url": "https://shop.example/hooks",
        "expires_at": None,
        "rate_limit": "",
    }
    assert events[1].after["prefix"] == api_key.prefix != first_prefix
    # The secret itself never reaches the log, not even hashed.
    assert api_key.key_hash not in json.dumps([e.after for e in events])


def test_a_key_creation_rolled_back_by_its_caller_leaves_no_event(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        prediction_services.api_key_create(name="shop")
        raise RuntimeError("the caller's transaction fails")

    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.exists()


def test_creating_and_revoking_a_key_in_the_admin_write_events_naming_the_admin(root_client):
    created = root_client.post(
        "/admin/predictions/apikey/add/",
        {"name": "shop", "callback_url": "https://shop.example/hooks", "callback_secret": "s3cret"},
    )
    api_key = ApiKey.objects.get(name="shop")
    revoked = root_client.post(
        "/admin/predictions/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]}
    )

    assert (created.status_code, revoked.status_code) == (302, 302)
    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.action, e.actor, e.object_id) for e in events] == [
        (Action.API_KEY_CREATED, "user:root", str(api_key.pk)),
        (Action.API_KEY_REVOKED, "user:root", str(api_key.pk)),
    ]
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None


# --- user roles -------------------------------------------------------------------------


def _user_form(user: User, **changes) -> dict:
    """The admin's user change form as a browser would submit it, with some fields changed."""
    fields = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "groups": [group.pk for group in user.groups.all()],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        **changes,
    }
    # Unticked checkboxes are not sent at all.
    return {name: value for name, value in fields.items() if value is not False}


def _change_user(client, user: User, **changes):
    return client.post(f"/admin/auth/user/{user.pk}/change/", _user_form(user, **changes))


def test_adding_a_user_to_a_role_group_writes_a_role_changed_event(root_client, make_user):
    carol = make_user(None, "carol")
    auditors = Group.objects.get_or_create(name="auditor")[0]

    response = _change_user(root_client, carol, groups=[auditors.pk])

    assert response.status_code == 302
    assert list(carol.groups.values_list("name", flat=True)) == ["auditor"]
    (event,) = _events(Action.USER_ROLE_CHANGED)
    assert event.actor == "user:root"
    assert (event.object_type, event.object_id) == ("user", str(carol.pk))
    roles = {"username": "carol", "is_staff": False, "is_superuser": False, "is_active": True}
    assert event.before == {**roles, "groups": []}
    assert event.after == {**roles, "groups": ["auditor"]}


def test_removing_a_user_from_a_role_group_writes_a_role_changed_event(root_client, make_user):
    dave = make_user("analyst", "dave")

    response = _change_user(root_client, dave, groups=[])

    assert response.status_code == 302
    assert not dave.groups.exists()
    (event,) = _events(Action.USER_ROLE_CHANGED)
    assert (event.before["groups"], event.after["groups"]) == (["analyst"], [])


def test_making_a_user_superuser_writes_a_role_changed_event(root_client, make_user):
    erin = make_user(None, "erin")

    response = _change_user(root_client, erin, is_superuser=True, is_staff=True)

    assert response.status_code == 302
    assert User.objects.get(pk=erin.pk).is_superuser
    (event,) = _events(Action.USER_ROLE_CHANGED)
    assert (event.before["is_superuser"], event.after["is_superuser"]) == (False, True)
    assert (event.before["is_staff"], event.after["is_staff"]) == (False, True)


def test_editing_a_users_name_writes_no_role_event(root_client, make_user):
    frank = make_user("analyst", "frank")

    response = _change_user(root_client, frank, first_name="Frank")

    assert response.status_code == 302
    assert User.objects.get(pk=frank.pk).first_name == "Frank"
    assert _events(Action.USER_ROLE_CHANGED) == []


def test_an_invalid_user_form_writes_no_event(root_client, make_user):
    grace = make_user(None, "grace")
    auditors = Group.objects.get_or_create(name="auditor")[0]

    response = _change_user(root_client, grace, username="", groups=[auditors.pk])

    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not grace.groups.exists()
    assert _events(Action.USER_ROLE_CHANGED) == []


# --- the chain --------------------------------------------------------------------------


def _record(count: int, start: int = 0) -> list[AuditEvent]:
    return audit_services.audit_events_record(
        events=[
            audit_services.Event(
                action=Action.API_KEY_CREATED,
                actor="test",
                object_type="api_key",
                object_id=n,
                after={"n": n, "when": timezone.now()},
            )
            for n in range(start, start + count)
        ]
    )


def _links() -> list[AuditLink]:
    return list(AuditLink.objects.order_by("seq"))


def _chain() -> list[tuple[int, int, str, str]]:
    return list(AuditLink.objects.order_by("seq").values_list("seq", "object_id", "prev_hash", "hash"))


@pytest.fixture
def linked_events(db) -> list[AuditLink]:
    """Five events, linked into the chain: their links, in order."""
    _record(5)
    audit_services.audit_chain_extend()
    return _links()


def test_events_are_written_unlinked_and_queued(db):
    first, second = _record(2)

    assert _chain() == []
    assert _queued(EVENT) == [first.pk, second.pk]


def test_each_recorded_event_is_stored_as_given_under_the_pk_it_was_handed(db):
    moment = timezone.now() - timedelta(days=1)
    given = [
        audit_services.Event(
            action=Action.OPERATIONS_SWITCHED,
            actor="user:ana",
            object_type="operations",
            object_id=n,
            request_id=f"req-{n}",
            before=None if n % 2 else {"on": False, "n": n},
            after={"on": True, "at": moment, "names": ["é", n]},
            created_at=moment if n == 1 else None,
        )
        for n in range(4)
    ]

    recorded = audit_services.audit_events_record(events=given)

    stored = AuditEvent.objects.in_bulk([event.pk for event in recorded])
    assert [event.pk for event in recorded] == sorted(stored)
    for event, row in zip(given, (stored[event.pk] for event in recorded), strict=True):
        assert (row.action, row.actor, row.object_type, row.object_id, row.request_id) == (
            event.action,
            event.actor,
            event.object_type,
            str(event.object_id),
            event.request_id,
        )
        assert row.before == event.before  # None is SQL NULL, not JSON null
        assert row.after == chain.plain(event.after) == {**event.after, "at": chain.plain(moment)}
    assert stored[recorded[1].pk].created_at == moment
    assert set(AuditEvent.objects.filter(before__isnull=True).values_list("object_id", flat=True)) == {
        "1",
        "3",
    }


def test_linking_chains_events_in_id_order_from_the_genesis_hash(db):
    events = _record(4)

    assert audit_services.audit_chain_extend() == 4

    links = _links()
    assert [(link.seq, link.source, link.object_id) for link in links] == [
        (n + 1, "event", event.pk) for n, event in enumerate(events)
    ]
    assert links[0].prev_hash == chain.GENESIS_HASH == "0" * 64
    for before, link in itertools.pairwise(links):
        assert link.prev_hash == before.hash
    for link, event in zip(links, events, strict=True):
        content = chain.event_content(AuditEvent.objects.get(pk=event.pk), link.seq)
        assert json.loads(content)["seq"] == link.seq  # the position is part of what is hashed
        expected = hashlib.sha256(f"{link.prev_hash}\n{content}".encode()).hexdigest()
        assert link.hash == expected == chain.chain_hash(link.prev_hash, content)
    assert len({link.hash for link in links}) == 4
    assert _queued(EVENT) == []


def test_linking_twice_links_nothing_new(db):
    _record(3)
    audit_services.audit_chain_extend()
    chain = _chain()

    assert audit_services.audit_chain_extend() == 0

    assert _chain() == chain


def test_linking_again_extends_the_chain_from_its_head(db):
    _record(3)
    audit_services.audit_chain_extend()
    head = AuditLink.objects.get(seq=3)
    _record(2, start=3)

    assert audit_services.audit_chain_extend() == 2

    fourth, fifth = AuditLink.objects.filter(seq__gt=3).order_by("seq")
    assert (fourth.seq, fifth.seq) == (4, 5)
    assert fourth.prev_hash == head.hash
    assert fifth.prev_hash == fourth.hash
    assert audit_selectors.audit_chain_verify().ok


def test_linking_in_small_batches_makes_the_same_chain(db):
    _record(5)

    assert audit_services.audit_chain_extend(batch_size=2) == 5

    report = audit_selectors.audit_chain_verify()
    assert (report.ok, report.checked, report.unlinked) == (True, 5, 0)
    assert [seq for seq, *_ in _chain()] == [1, 2, 3, 4, 5]


def test_events_and_predictions_share_one_chain_in_the_order_they_were_queued(active_model, features):
    audit_services.audit_chain_extend()  # the fixtures' events
    (first,) = _record(1)
    prediction, _ = prediction_services.prediction_create(
        api_key=None, request_id="order-1", features=features
    )
    (last,) = _record(1, start=1)

    audit_services.audit_chain_extend()

    newest = AuditLink.objects.order_by("-seq")[:3]
    assert [(link.source, link.object_id) for link in reversed(newest)] == [
        ("event", first.pk),
        ("prediction", prediction.pk),
        ("event", last.pk),
    ]
    assert audit_selectors.audit_chain_verify().ok


def test_a_queue_entry_whose_row_is_gone_waits_and_the_chain_goes_on(db):
    first, second = _record(2)
    AuditPending.objects.create(source=EVENT, object_id=second.pk + 1000)  # no such event
    (third,) = _record(1, start=2)

    assert audit_services.audit_chain_extend(batch_size=2) == 3

    assert [object_id for _, object_id, _, _ in _chain()] == [first.pk, second.pk, third.pk]
    assert _queued(EVENT) == [second.pk + 1000]
    report = audit_selectors.audit_chain_verify()
    assert not report.ok
    assert report.broken_seq is None
    assert report.problem == "3 event rows against 3 linked and 1 queued: 1 deleted"


def test_verify_links_pending_events_and_prints_the_head_hash(db):
    _record(3)
    out = StringIO()

    call_command("verify_audit_log", stdout=out)

    head = AuditLink.objects.get(seq=3)
    assert out.getvalue().splitlines() == ["verified 3 events (0 not linked yet)", f"head hash: {head.hash}"]


def test_verify_without_linking_counts_the_pending_events(linked_events):
    _record(2, start=5)
    out = StringIO()

    call_command("verify_audit_log", "--no-link", stdout=out)

    assert out.getvalue().splitlines() == [
        "verified 5 events (2 not linked yet)",
        f"head hash: {linked_events[-1].hash}",
    ]
    assert len(_queued(EVENT)) == 2


def test_verify_of_an_empty_log_prints_the_genesis_hash(db):
    out = StringIO()

    call_command("verify_audit_log", stdout=out)

    assert out.getvalue().splitlines() == ["verified 0 events (0 not linked yet)", f"head hash: {'0' * 64}"]


def test_the_chain_of_real_state_changes_verifies(make_items, analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)
    services.decision_record(item_id=item.pk, user=analyst, outcome="confirmed", seen_digest=digest_of(item))

    call_command("verify_audit_log", stdout=StringIO())

    report = audit_selectors.audit_chain_verify()
    assert report.ok
    assert report.checked == AuditEvent.objects.count() + Prediction.objects.count() > 5
    assert report.head_hash == AuditLink.objects.order_by("-seq").first().hash


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_linkers_never_fork_the_chain(audit_log_flushable):
    writers, batches, per_batch = 4, 10, 3
    start = threading.Barrier(writers + 2)
    writing_done = threading.Event()
    linked, errors = [], []

    def write(writer: int) -> None:
        try:
            start.wait(timeout=30)
            for batch in range(batches):
                with transaction.atomic():
                    _record(per_batch, start=(writer * batches + batch) * per_batch)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    def link() -> None:
        try:
            start.wait(timeout=30)
            while True:
                last_round = writing_done.is_set()
                linked.append(audit_services.audit_chain_extend())
                if last_round:
                    return
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    writer_threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    linker_threads = [threading.Thread(target=link) for _ in range(2)]
    for thread in writer_threads + linker_threads:
        thread.start()
    for thread in writer_threads:
        thread.join(timeout=120)
    writing_done.set()
    for thread in linker_threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in writer_threads + linker_threads), "a thread hung"
    assert errors == []
    total = writers * batches * per_batch
    assert sum(linked) == total  # every event linked exactly once
    assert [seq for seq, *_ in _chain()] == list(range(1, total + 1))
    assert sorted(object_id for _, object_id, _, _ in _chain()) == sorted(
        AuditEvent.objects.values_list("id", flat=True)
    )
    assert AuditLink.objects.values("prev_hash").distinct().count() == total  # no two share a parent
    report = audit_selectors.audit_chain_verify()
    assert (report.ok, report.checked, report.unlinked) == (True, total, 0)


# --- tampering --------------------------------------------------------------------------


def _snapshot() -> list[tuple]:
    events = AuditEvent.objects.order_by("id").values_list("id", "actor", "after")
    return [*events, *_chain()]


def _refused(statement) -> None:
    """Run a statement that the database must refuse, keeping the test's transaction usable."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        statement()


def _sql(sql: str, params=None):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    return run


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE reviews_auditevent SET actor = 'mallory' WHERE id = (SELECT max(id) FROM reviews_auditevent)",
        "DELETE FROM reviews_auditevent WHERE id = (SELECT min(id) FROM reviews_auditevent)",
        "DELETE FROM reviews_auditevent",
        "TRUNCATE reviews_auditevent",
        "UPDATE audit_link SET hash = repeat('f', 64) WHERE seq = 3",
        "UPDATE audit_link SET object_id = object_id + 1 WHERE seq = 5",
        "DELETE FROM audit_link WHERE seq = 5",
        "DELETE FROM audit_link",
        "TRUNCATE audit_link",
    ],
)
def test_the_database_refuses_raw_changes_to_the_log(linked_events, sql):
    before = _snapshot()

    _refused(_sql(sql))

    assert _snapshot() == before


@pytest.mark.postgres
def test_the_database_refuses_orm_updates_and_deletes(linked_events):
    before = _snapshot()
    second = linked_events[1]
    event = AuditEvent.objects.get(pk=second.object_id)
    event.after = {"n": 99}

    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(actor="mallory"))
    _refused(event.save)
    _refused(AuditEvent.objects.get(pk=event.pk).delete)
    _refused(AuditEvent.objects.all().delete)
    _refused(lambda: AuditLink.objects.filter(seq=2).update(hash="f" * 64))
    _refused(AuditLink.objects.get(seq=2).delete)

    assert _snapshot() == before


@pytest.mark.postgres
def test_the_database_refuses_changing_an_unlinked_event(db):
    (event,) = _record(1)
    before = _snapshot()

    _refused(_sql('UPDATE reviews_auditevent SET "after" = %s WHERE id = %s', ['{"n": 99}', event.pk]))
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(actor="mallory"))
    _refused(AuditEvent.objects.get(pk=event.pk).delete)

    assert _snapshot() == before


def _tamper(table: str, sql: str, params: list) -> None:
    """What someone with the table owner's rights could do: lift the triggers, change, restore."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def test_verify_names_the_event_whose_content_was_changed(linked_events):
    third = linked_events[2]
    _tamper(
        "reviews_auditevent",
        'UPDATE reviews_auditevent SET "after" = %s WHERE id = %s',
        ['{"n": 99}', third.object_id],
    )
    assert AuditEvent.objects.get(pk=third.object_id).after == {"n": 99}

    with pytest.raises(CommandError, match=r"broken at event #3: its content does not match its hash"):
        call_command("verify_audit_log", stdout=StringIO())

    report = audit_selectors.audit_chain_verify()
    assert (report.broken_seq, report.checked) == (3, 2)


def test_verify_names_the_event_after_one_rewritten_with_a_fresh_hash(linked_events):
    third = linked_events[2]
    event = AuditEvent.objects.get(pk=third.object_id)
    event.after = {"n": 99}
    forged = chain.chain_hash(third.prev_hash, chain.event_content(event, third.seq))
    _tamper(
        "reviews_auditevent",
        'UPDATE reviews_auditevent SET "after" = %s WHERE id = %s',
        ['{"n": 99}', event.pk],
    )
    _tamper("audit_link", "UPDATE audit_link SET hash = %s WHERE seq = 3", [forged])

    with pytest.raises(CommandError, match=r"broken at event #4: its prev_hash does not match"):
        call_command("verify_audit_log", stdout=StringIO())


def test_verify_reports_a_deleted_event_whose_link_remains(linked_events):
    third = linked_events[2]
    _tamper("reviews_auditevent", "DELETE FROM reviews_auditevent WHERE id = %s", [third.object_id])

    message = rf"broken at event #3: the event it covers \(#{third.object_id}\) is missing"
    with pytest.raises(CommandError, match=message):
        call_command("verify_audit_log", stdout=StringIO())


def test_verify_reports_a_deleted_link_as_missing(linked_events):
    _tamper("audit_link", "DELETE FROM audit_link WHERE seq = %s", [3])

    with pytest.raises(CommandError, match=r"broken at event #3: event #3 is missing"):
        call_command("verify_audit_log", stdout=StringIO())


def test_verify_reports_a_queue_entry_removed_before_its_event_was_linked(linked_events):
    (event,) = _record(1, start=5)
    AuditPending.objects.filter(object_id=event.pk).delete()

    with pytest.raises(
        CommandError,
        match=r"audit log incomplete: 6 event rows against 5 linked and 0 queued: 1 never queued",
    ):
        call_command("verify_audit_log", stdout=StringIO())


def test_deleting_the_newest_event_with_its_link_shows_only_in_the_head_hash_kept_outside(linked_events):
    # Nothing follows the newest link to notice its loss, and the rows still match the links:
    # that is what the printed head hash, kept outside the database, is for.
    kept = StringIO()
    call_command("verify_audit_log", stdout=kept)
    _tamper("audit_link", "DELETE FROM audit_link WHERE seq = %s", [5])
    _tamper(
        "reviews_auditevent", "DELETE FROM reviews_auditevent WHERE id = %s", [linked_events[4].object_id]
    )
    now = StringIO()

    call_command("verify_audit_log", stdout=now)

    assert kept.getvalue().splitlines()[-1] == f"head hash: {linked_events[4].hash}"
    assert now.getvalue().splitlines()[-1] == f"head hash: {linked_events[3].hash}"


# --- predictions in the chain -----------------------------------------------------------


@pytest.fixture
def linked_prediction(active_model, features) -> Prediction:
    prediction, _ = prediction_services.prediction_create(
        api_key=None, request_id="order-1", features=features
    )
    audit_services.audit_chain_extend()
    return prediction


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("score", "0.01"),
        ("label", "CASE label WHEN 'fraud' THEN 'legit' ELSE 'fraud' END"),
        ("routing", "CASE routing WHEN 'auto' THEN 'review' ELSE 'auto' END"),
        ("features", "'{\"amount\": 1}'"),
    ],
)
def test_verify_names_a_prediction_changed_after_it_was_linked(linked_prediction, column, value):
    link = audit_selectors.audit_link_of(source=PREDICTION, object_id=linked_prediction.pk)
    with connection.cursor() as cursor:  # predictions are not append-only: their status moves on
        cursor.execute(
            f"UPDATE predictions_prediction SET {column} = {value} WHERE id = %s", [linked_prediction.pk]
        )

    report = audit_selectors.audit_chain_verify()

    assert (report.broken_seq, report.problem) == (link.seq, "its content does not match its hash")


def test_a_prediction_s_decision_does_not_break_its_link(linked_prediction):
    Prediction.objects.filter(pk=linked_prediction.pk).update(status="reviewed", final_label="legit")

    assert audit_selectors.audit_chain_verify().ok


def test_verify_reports_a_deleted_prediction(linked_prediction):
    link = audit_selectors.audit_link_of(source=PREDICTION, object_id=linked_prediction.pk)
    Explanation.objects.filter(prediction=linked_prediction).delete()
    Prediction.objects.filter(pk=linked_prediction.pk).delete()

    report = audit_selectors.audit_chain_verify()

    assert (report.broken_seq, report.problem) == (
        link.seq,
        f"the prediction it covers (#{linked_prediction.pk}) is missing",
    )


@pytest.mark.postgres
def test_the_linker_reads_each_kind_of_row_as_the_orm_does(linked_prediction):
    # PostgreSQL's rows are read with psycopg's own loaders, not the ORM: a link made from one
    # must verify from the other, and links made before must still verify.
    events = _record(2) + audit_services.audit_events_record(
        events=[
            audit_services.Event(action=Action.OPERATIONS_SWITCHED, actor="x", object_type="o", object_id=1)
        ]
    )
    gone = linked_prediction.pk + 1000
    kinds = [
        (EVENT_SOURCE, [event.pk for event in events], 3),
        (PREDICTION_SOURCE, [linked_prediction.pk, gone], 1),
    ]

    for source, ids, found in kinds:
        read, through_orm = source.rows(ids), source._rows_orm(ids)

        assert len(through_orm) == found
        assert read == through_orm
        for pk, row in read.items():
            assert source.content(row, 7) == source.content(through_orm[pk], 7)
