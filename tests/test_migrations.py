"""A database migrated from the previous release keeps its predictions, reviews and audit chain.

The audit log moved from `reviews` to its own app (and the kill switch's settings row from
`monitoring` to `predictions`) by changing Django's state only: the tables, their rows and
the append-only triggers stay where they were.
"""

import json
from datetime import UTC
from types import SimpleNamespace

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.chain import GENESIS_HASH, chain_hash, event_content
from audit.models import AuditEvent, AuditLink
from audit.selectors import audit_chain_verify
from audit.services import audit_chain_extend, audit_event_record
from monitoring.models import OperationalSettings as SwitchesAdminPage
from predictions import switches
from predictions.models import OperationalSettings, Prediction
from reviews.models import Decision, ReviewItem

# The last migration of each app before the audit app existed (commit 728a14d).
PREVIOUS_HEAD = [
    ("audit", None),
    ("outcomes", None),
    ("predictions", "0006_api_key_rate_limit"),
    ("reviews", "0007_api_key_changed_action"),
    ("monitoring", "0004_latency_snapshot"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # An app unapplied entirely, (app, None), has no state of its own to build.
    return executor.loader.project_state([node for node in targets if node[1]]).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _seed_previous_release(apps) -> None:
    """One reviewed prediction and its audit trail, and the kill switch turned on, written
    through the old schema's models."""
    now = timezone.now()
    user = apps.get_model("auth", "User").objects.create(username="ana")
    version = apps.get_model("predictions", "ModelVersion").objects.create(
        name="card-fraud",
        version=1,
        artifact_path="m.joblib",
        sha256="0" * 64,
        feature_schema=[],
        reference={},
        review_threshold=0.85,
        status="active",
    )
    prediction = apps.get_model("predictions", "Prediction").objects.create(
        request_id="order-1",
        model_version=version,
        features={"amount": 10.0},
        features_digest="d" * 64,
        score=0.6,
        label="fraud",
        confidence=0.6,
        routing="review",
        status="reviewed",
        final_label="legit",
        routing_state="done",
    )
    for request_id, confidence, routing in (("order-2", 0.95, "review"), ("order-3", 0.97, "auto")):
        # A sure prediction in review: only the review-everything switch could have sent it.
        apps.get_model("predictions", "Prediction").objects.create(
            request_id=request_id,
            model_version=version,
            features={"amount": 1.0},
            features_digest="d" * 64,
            score=1 - confidence,
            label="legit",
            confidence=confidence,
            routing=routing,
            status="pending_review" if routing == "review" else "decided",
            final_label="" if routing == "review" else "legit",
            routing_state="done" if routing == "review" else "not_needed",
        )
    item = apps.get_model("reviews", "ReviewItem").objects.create(
        prediction=prediction, state="decided", priority=1.0, decided_at=now
    )
    apps.get_model("reviews", "Decision").objects.create(
        review_item=item,
        outcome="overridden",
        final_label="legit",
        reason="data_error",
        reviewer=user,
        reviewer_name="ana",
        seen_digest="s" * 64,
        decided_at=now,
    )
    apps.get_model("monitoring", "OperationalSettings").objects.create(
        pk=1, review_all_predictions=True, changed_at=now, changed_by="user:root"
    )
    OldAuditEvent = apps.get_model("reviews", "AuditEvent")
    for action in ("prediction.created", "prediction.routed", "review.decided"):
        OldAuditEvent.objects.create(
            created_at=now,
            action=action,
            actor="user:ana",
            request_id="order-1",
            object_type="prediction",
            object_id=str(prediction.pk),
            after={"step": action},
        )


def _link_as_the_previous_release_did() -> str:
    """The linker of the release before links of their own: positions and hashes in the event row.
    Returns the head hash."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, created_at, action, actor, request_id, object_type, object_id, before, after "
            "FROM reviews_auditevent ORDER BY id"
        )
        rows = cursor.fetchall()
    prev_hash = GENESIS_HASH
    for seq, (id_, created_at, *fields) in enumerate(rows, start=1):
        before, after = (json.loads(value) if isinstance(value, str) else value for value in fields[-2:])
        event = SimpleNamespace(
            created_at=created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC),
            action=fields[0],
            actor=fields[1],
            request_id=fields[2],
            object_type=fields[3],
            object_id=fields[4],
            before=before,
            after=after,
        )
        link_hash = chain_hash(prev_hash, event_content(event, seq))
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE reviews_auditevent SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [seq, prev_hash, link_hash, id_],
            )
        prev_hash = link_hash
    return prev_hash


@pytest.mark.django_db(transaction=True)
def test_migrating_from_the_previous_release_keeps_every_record_and_the_chain():
    old_apps = _migrate(PREVIOUS_HEAD)
    old_review_models = {model._meta.model_name for model in old_apps.get_app_config("reviews").get_models()}
    assert "auditevent" in old_review_models
    switches_content_type = ContentType.objects.get(app_label="monitoring", model="operationalsettings").pk
    try:
        _seed_previous_release(old_apps)
        head_before = _link_as_the_previous_release_did()
    finally:
        _migrate(_latest())

    assert Prediction.objects.get(request_id="order-1").final_label == "legit"
    # Why each was reviewed, worked out from its confidence and its version's threshold.
    reasons = Prediction.objects.order_by("request_id").values_list("review_reason", "inclusion_probability")
    assert list(reasons) == [("low_confidence", 1.0), ("review_everything", 1.0), (None, None)]
    assert Prediction.objects.get(request_id="order-1").model_version.audit_sample_rate == 0.01
    assert ReviewItem.objects.get().state == ReviewItem.State.DECIDED
    assert not ReviewItem.objects.get().blind
    assert Decision.objects.get().reviewer_name == "ana"
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "prediction.created",
        "prediction.routed",
        "review.decided",
    ]
    report = audit_chain_verify()
    assert report.ok
    # The links moved to a table of their own with their positions and hashes: the same chain.
    assert (report.checked, report.head_hash, report.unlinked) == (3, head_before, 3)
    # Predictions stored before are queued, and linked after the events that were there.
    assert audit_chain_extend() == 3
    assert list(AuditLink.objects.order_by("seq").values_list("seq", "source")) == [
        (1, "event"),
        (2, "event"),
        (3, "event"),
        (4, "prediction"),
        (5, "prediction"),
        (6, "prediction"),
    ]
    assert audit_chain_verify().ok
    # Permissions and admin history follow the model to its new app.
    assert ContentType.objects.get_for_model(AuditEvent).app_label == "audit"
    assert not ContentType.objects.filter(app_label="reviews", model="auditevent").exists()

    # The kill switch's row is read through its new app, on the scoring path too.
    stored = OperationalSettings.objects.get()
    assert (stored.review_all_predictions, stored.changed_by) == (True, "user:root")
    switches.forget()
    assert switches.review_everything() is True
    # The admin page stays in monitoring (a proxy), with the content type its history points at.
    assert ContentType.objects.get_for_model(SwitchesAdminPage, for_concrete_model=False).pk == (
        switches_content_type
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_audit_log_stays_append_only_after_the_move():
    _migrate(PREVIOUS_HEAD)
    _migrate(_latest())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY 1",
            [AuditEvent._meta.db_table],
        )
        triggers = [row[0] for row in cursor.fetchall()]
    assert triggers == ["reviews_auditevent_append_only", "reviews_auditevent_append_only_rows"]
    event = audit_event_record(action="api_key.created", actor="test", object_type="api_key", object_id=1)
    # Not even the linker may rewrite an event any more: links are rows of their own.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor="mallory")


# The release that first stored outcomes, before predictions kept their effective one.
OUTCOMES_RELEASE = [
    ("audit", "0002_outcome_recorded_action"),
    ("predictions", "0007_operational_settings_moved_from_monitoring"),
    ("reviews", "0008_audit_event_moved_to_audit"),
    ("outcomes", "0001_initial"),
]


@pytest.mark.django_db(transaction=True)
def test_outcomes_stored_before_the_upgrade_become_their_predictions_effective_ones():
    old_apps = _migrate(OUTCOMES_RELEASE)
    try:
        version = old_apps.get_model("predictions", "ModelVersion").objects.create(
            name="card-fraud", version=1, artifact_path="m.joblib", sha256="0" * 64,
            feature_schema=[], reference={}, review_threshold=0.85, status="active",
        )  # fmt: skip
        OldPrediction, OldOutcome = (
            old_apps.get_model("predictions", "Prediction"),
            old_apps.get_model("outcomes", "Outcome"),
        )
        labelled, _unlabelled = (
            OldPrediction.objects.create(
                request_id=request_id, model_version=version, features={}, features_digest="d" * 64,
                score=0.1, label="legit", confidence=0.9, routing="auto", status="decided",
                final_label="legit", routing_state="not_needed",
            )
            for request_id in ("order-1", "order-2")
        )  # fmt: skip
        for label, source, day in (("legit", "customer_confirmed", 3), ("fraud", "chargeback", 9)):
            OldOutcome.objects.create(
                prediction=labelled, label=label, source=source,
                occurred_at=timezone.now().replace(year=2026, month=11, day=day), reported_by="test",
            )  # fmt: skip
    finally:
        _migrate(_latest())

    assert Prediction.objects.get(request_id="order-1").outcome_label == "fraud"
    assert Prediction.objects.get(request_id="order-1").outcome_source == "chargeback"
    assert Prediction.objects.get(request_id="order-2").outcome_label is None


# The release before links of their own (audit 0006) and predictions as their own evidence.
BEFORE_OWN_LINKS = [("audit", "0005_no_like_copies"), ("predictions", "0014_fewer_prediction_indexes")]


def _events_recorded(count: int) -> None:
    for n in range(count):
        audit_event_record(action="api_key.created", actor="test", object_type="api_key", object_id=n)


@pytest.mark.django_db(transaction=True)
def test_going_back_before_links_of_their_own_puts_each_events_link_back_in_its_row():
    _events_recorded(3)
    audit_chain_extend()
    links = list(AuditLink.objects.order_by("seq").values_list("object_id", "seq", "prev_hash", "hash"))
    try:
        old_apps = _migrate(BEFORE_OWN_LINKS)
        OldAuditEvent = old_apps.get_model("audit", "AuditEvent")
        restored = list(OldAuditEvent.objects.order_by("seq").values_list("id", "seq", "prev_hash", "hash"))
    finally:
        _migrate(_latest())

    assert restored == links
    assert len(restored) == 3
    # And forward again: the same chain, from the rows.
    assert (
        list(AuditLink.objects.order_by("seq").values_list("object_id", "seq", "prev_hash", "hash")) == links
    )
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_going_back_is_refused_once_a_prediction_is_linked(active_model, transactions):
    from predictions import services

    services.prediction_create(api_key=None, request_id="order-1", features=transactions(1)[0])
    audit_chain_extend()

    with pytest.raises(IrreversibleError, match="links rows other than events"):
        _migrate(BEFORE_OWN_LINKS)
    _migrate(_latest())

    assert audit_chain_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_going_back_to_inserts_into_the_reason_code_index_merges_its_pending_list_first(
    active_model, transactions
):
    from predictions import services

    services.prediction_create(api_key=None, request_id="order-1", features=transactions(1)[0])
    try:
        _migrate([("predictions", "0015_predictions_own_evidence")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'prediction_reason_codes'")
            options = cursor.fetchone()[0]
            cursor.execute("SELECT gin_clean_pending_list('prediction_reason_codes'::regclass)")
            left_pending = cursor.fetchone()[0]
    finally:
        _migrate(_latest())

    assert options == ["fastupdate=off"]
    assert left_pending == 0
