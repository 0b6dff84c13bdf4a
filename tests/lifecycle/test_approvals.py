"""Four eyes (REQUIRE_SECOND_APPROVER): activations, review thresholds and audit sample rates are
proposed, and take effect only when a second admin approves them; the proposer cannot approve;
a proposal whose target changed since is stale; every step is audited."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from lifecycle import approvals
from lifecycle.models import ChangeProposal
from predictions import services as prediction_services
from predictions.models import ModelVersion
from tests.lifecycle.evidence import labelled_evidence, shadow_period_open

Action = AuditEvent.Action


@pytest.fixture(autouse=True)
def four_eyes(settings):
    settings.REQUIRE_SECOND_APPROVER = True


@pytest.fixture
def alice(make_user):
    return make_user("admin", "alice")


@pytest.fixture
def bob(make_user):
    return make_user("admin", "bob")


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def good(active_model, register_model) -> ModelVersion:
    """A version that shadowed and is as good as the active one: the gate allows it."""
    candidate = register_model(activate=False)
    shadow_period_open(candidate=candidate, active=active_model)
    labelled_evidence(active=active_model, candidate=candidate)
    candidate.refresh_from_db()
    return candidate


def active_version() -> int:
    return ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).version


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def propose_activation(user, version: int, **body):
    return api_as(user).post(f"/api/v1/models/{version}/activate/", body, format="json")


def approve(user, proposal_id: int):
    return api_as(user).post(f"/api/v1/changes/{proposal_id}/approve/")


# --- activations ----------------------------------------------------------------------------


def test_an_activation_is_proposed_and_nothing_changes(alice, active_model, good):
    response = propose_activation(alice, good.version)

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    proposal = body["proposal"]
    assert (proposal["kind"], proposal["version"], proposal["status"]) == (
        "activate",
        good.version,
        "pending",
    )
    assert proposal["before"] == {"active_version": active_model.version}
    assert proposal["proposed_by"] == "user:alice"
    assert proposal["gate"]["allowed"] is True
    assert active_version() == active_model.version
    stored = ChangeProposal.objects.get()
    assert stored.proposed_by_user_id == alice.pk
    [event] = AuditEvent.objects.filter(action=Action.CHANGE_PROPOSED)
    assert (event.actor, event.object_type, event.object_id) == (
        "user:alice",
        "change_proposal",
        str(stored.pk),
    )


def test_the_proposer_cannot_approve_and_the_refusal_is_audited(alice, active_model, good):
    proposal_id = propose_activation(alice, good.version).json()["proposal"]["id"]

    response = approve(alice, proposal_id)

    assert response.status_code == 403
    assert "another admin" in response.json()["detail"]
    assert ChangeProposal.objects.get().status == ChangeProposal.Status.PENDING
    assert active_version() == active_model.version
    [refused] = AuditEvent.objects.filter(action=Action.CHANGE_REFUSED)
    assert (refused.actor, refused.after["refused"]) == ("user:alice", "self_approval")


def test_the_proposer_is_recognised_by_account_not_by_name(alice, make_user, active_model, good):
    proposal = approvals.model_version_promote(version=good.version, actor="user:alice", user=alice).proposal
    # Another account that would print the same actor name is still another person.
    namesake = make_user("admin", "alice2")

    approved = approvals.change_approve(proposal_id=proposal.pk, actor="user:alice", user=namesake)

    assert approved.status == ChangeProposal.Status.APPLIED


def test_a_second_admin_approves_and_it_is_applied(alice, bob, active_model, good):
    proposal_id = propose_activation(alice, good.version).json()["proposal"]["id"]

    response = approve(bob, proposal_id)

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decided_by"]) == ("applied", "user:bob")
    assert active_version() == good.version
    good.refresh_from_db()
    assert good.activated_by == "user:bob"
    after_proposal = actions()[actions().index(Action.CHANGE_PROPOSED) :]
    assert [a for a in after_proposal if a.startswith(("change.", "model.activated"))] == [
        Action.CHANGE_PROPOSED,
        Action.MODEL_ACTIVATED,
        Action.CHANGE_APPROVED,
    ]
    approved = AuditEvent.objects.get(action=Action.CHANGE_APPROVED)
    assert approved.after["proposed_by"] == "user:alice"


def test_approving_twice_applies_once(alice, bob, make_user, active_model, good):
    proposal_id = propose_activation(alice, good.version).json()["proposal"]["id"]
    carol = make_user("admin", "carol")

    first, second = approve(bob, proposal_id), approve(carol, proposal_id)

    assert (first.status_code, second.status_code) == (200, 409)
    assert "applied already" in second.json()["detail"]
    assert AuditEvent.objects.filter(action=Action.MODEL_ACTIVATED, object_id=str(good.version)).count() == 1
    assert AuditEvent.objects.filter(action=Action.CHANGE_APPROVED).count() == 1


def test_a_proposal_is_stale_when_another_version_was_activated_since(
    alice, bob, active_model, good, register_model
):
    proposal_id = propose_activation(alice, good.version).json()["proposal"]["id"]
    other = register_model(activate=False)
    prediction_services.model_version_activate(version=other.version, actor="test")  # meanwhile

    response = approve(bob, proposal_id)

    assert response.status_code == 409
    assert "was not applied" in response.json()["detail"]
    assert "active_version was 1" in response.json()["detail"]
    proposal = ChangeProposal.objects.get()
    assert (proposal.status, proposal.decided_by) == (ChangeProposal.Status.STALE, "user:bob")
    assert active_version() == other.version
    [refused] = AuditEvent.objects.filter(action=Action.CHANGE_REFUSED)
    assert refused.after["refused"] == "stale"
    assert refused.after["now"] == {"active_version": other.version}


def test_the_gate_is_judged_again_at_approval(alice, bob, active_model, good, settings):
    proposal_id = propose_activation(alice, good.version).json()["proposal"]["id"]
    # Worse evidence arrives after the proposal: the candidate misses frauds it used to catch.
    labelled_evidence(active=active_model, candidate=good, missed_frauds=10)

    response = approve(bob, proposal_id)

    assert response.status_code == 409
    assert response.json()["detail"].startswith(f"Change #{proposal_id} was not applied: the promotion gate")
    assert response.json()["reasons"]
    assert ChangeProposal.objects.get().status == ChangeProposal.Status.STALE
    assert active_version() == active_model.version
    assert AuditEvent.objects.filter(action=Action.MODEL_PROMOTION_REFUSED).count() == 1


def test_a_forced_proposal_is_applied_without_judging_again(alice, bob, active_model, register_model):
    never_shadowed = register_model(activate=False)

    proposed = propose_activation(alice, never_shadowed.version, force=True, reason="INC-4711")
    approved = approve(bob, proposed.json()["proposal"]["id"])

    assert proposed.status_code == 202 and proposed.json()["proposal"]["force"] is True
    assert approved.status_code == 200
    assert active_version() == never_shadowed.version
    [forced] = AuditEvent.objects.filter(action=Action.MODEL_PROMOTION_FORCED)
    assert (forced.actor, forced.after["reason"]) == ("user:bob", "INC-4711")


def test_a_refused_activation_is_not_even_proposed(alice, active_model, register_model):
    never_shadowed = register_model(activate=False)

    response = propose_activation(alice, never_shadowed.version)

    assert response.status_code == 409
    assert not ChangeProposal.objects.exists()


def test_the_same_change_cannot_be_pending_twice(alice, bob, active_model, good):
    propose_activation(alice, good.version)

    again = propose_activation(bob, good.version)

    assert again.status_code == 409
    assert "already pending" in again.json()["detail"]
    assert ChangeProposal.objects.count() == 1


def test_a_rollback_needs_a_second_admin_too(alice, bob, active_model, register_model):
    register_model()  # v2 active; v1 was active before

    response = propose_activation(alice, active_model.version)
    approve(bob, response.json()["proposal"]["id"])

    assert response.status_code == 202
    assert active_version() == active_model.version


# --- rejecting and withdrawing ------------------------------------------------------------


def test_another_admin_rejects_a_proposal(alice, bob, active_model, good):
    proposal_id = propose_activation(alice, good.version).json()["proposal"]["id"]

    response = api_as(bob).post(f"/api/v1/changes/{proposal_id}/reject/", {"note": "not now"}, format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decision_note"]) == ("rejected", "not now")
    assert approve(bob, proposal_id).status_code == 409
    assert active_version() == active_model.version
    [event] = AuditEvent.objects.filter(action=Action.CHANGE_REJECTED)
    assert (event.actor, event.after["status"]) == ("user:bob", "rejected")


def test_the_proposer_withdraws_rather_than_rejects(alice, bob, active_model, good):
    proposal_id = propose_activation(alice, good.version).json()["proposal"]["id"]

    rejected = api_as(alice).post(f"/api/v1/changes/{proposal_id}/reject/")
    not_theirs = api_as(bob).post(f"/api/v1/changes/{proposal_id}/withdraw/")
    withdrawn = api_as(alice).post(f"/api/v1/changes/{proposal_id}/withdraw/")

    assert (rejected.status_code, not_theirs.status_code, withdrawn.status_code) == (403, 403, 200)
    assert withdrawn.json()["status"] == "withdrawn"


def test_an_unknown_proposal_is_404(bob, db):
    assert approve(bob, 999).status_code == 404


# --- thresholds and audit sample rates ----------------------------------------------------


def test_a_threshold_change_is_proposed_then_applied(alice, bob, active_model):
    url = f"/api/v1/models/{active_model.version}/threshold/"

    proposed = api_as(alice).post(url, {"review_threshold": 0.9}, format="json")
    assert proposed.status_code == 202
    assert ModelVersion.objects.get(pk=active_model.pk).review_threshold == 0.85
    proposal = proposed.json()["proposal"]
    assert (proposal["kind"], proposal["value"], proposal["before"]) == (
        "threshold",
        0.9,
        {"review_threshold": 0.85},
    )

    assert approve(bob, proposal["id"]).status_code == 200
    assert ModelVersion.objects.get(pk=active_model.pk).review_threshold == 0.9
    changed = AuditEvent.objects.get(action=Action.MODEL_THRESHOLD_CHANGED)
    assert (changed.actor, changed.before, changed.after) == (
        "user:bob",
        {"review_threshold": 0.85},
        {"review_threshold": 0.9},
    )


def test_a_threshold_proposal_is_stale_once_the_threshold_changed(alice, bob, active_model):
    proposal = approvals.threshold_change_propose(
        version=active_model.version, threshold=0.9, actor="user:alice", user=alice
    ).proposal
    prediction_services.model_version_threshold_set(version=active_model.version, threshold=0.95, actor="x")

    response = approve(bob, proposal.pk)

    assert response.status_code == 409
    assert "review_threshold was 0.85; now review_threshold was 0.95" in response.json()["detail"]
    assert ModelVersion.objects.get(pk=active_model.pk).review_threshold == 0.95


def test_an_audit_sample_rate_change_is_proposed_then_applied(alice, bob, active_model):
    url = f"/api/v1/models/{active_model.version}/audit-sample-rate/"

    proposed = api_as(alice).post(url, {"audit_sample_rate": 0.05}, format="json")
    approved = approve(bob, proposed.json()["proposal"]["id"])

    assert (proposed.status_code, approved.status_code) == (202, 200)
    assert ModelVersion.objects.get(pk=active_model.pk).audit_sample_rate == 0.05
    changed = AuditEvent.objects.get(action=Action.MODEL_AUDIT_SAMPLE_RATE_CHANGED)
    # The tests' AUDIT_SAMPLE_RATE is 0 (tests/conftest.py): a new version starts with it.
    assert (changed.before, changed.after) == ({"audit_sample_rate": 0.0}, {"audit_sample_rate": 0.05})


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("threshold", {"review_threshold": 0.3}, "review_threshold"),
        ("threshold", {"review_threshold": "0.9"}, "review_threshold"),
        ("audit-sample-rate", {"audit_sample_rate": 1.5}, "audit_sample_rate"),
        ("audit-sample-rate", {}, "audit_sample_rate"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field(alice, active_model, path, body, field):
    response = api_as(alice).post(f"/api/v1/models/{active_model.version}/{path}/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not ChangeProposal.objects.exists()


def test_proposing_the_current_value_changes_nothing(alice, active_model):
    response = api_as(alice).post(
        f"/api/v1/models/{active_model.version}/threshold/", {"review_threshold": 0.85}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "unchanged"
    assert not ChangeProposal.objects.exists()


def test_without_four_eyes_a_threshold_applies_at_once(alice, active_model, settings):
    settings.REQUIRE_SECOND_APPROVER = False

    response = api_as(alice).post(
        f"/api/v1/models/{active_model.version}/audit-sample-rate/", {"audit_sample_rate": 0.2}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {
        "status": "applied",
        "model": {
            "name": "card-fraud",
            "version": active_model.version,
            "status": "active",
            "review_threshold": 0.85,
            "audit_sample_rate": 0.2,
        },
    }
    assert not ChangeProposal.objects.exists()


# --- the pages --------------------------------------------------------------------------------


def page_as(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/models/changes/")  # the CSRF cookie
    return client


def csrf_post(client: Client, url: str, data: dict | None = None):
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_the_what_if_apply_proposes_with_four_eyes(alice, active_model):
    client = page_as(alice)

    response = csrf_post(client, "/models/threshold/", {"version": active_model.version, "threshold": "0.91"})

    assert response.status_code == 302
    assert response["Location"] == "/quality/thresholds/"
    assert ModelVersion.objects.get(pk=active_model.pk).review_threshold == 0.85
    assert ChangeProposal.objects.get().value == 0.91
    assert "Proposed as change #" in client.get("/models/changes/").content.decode()


def test_the_changes_page_offers_approval_to_the_other_admin_only(alice, bob, active_model, good):
    proposal = approvals.model_version_promote(version=good.version, actor="user:alice", user=alice).proposal
    approve_url = f"/models/changes/{proposal.pk}/approve/"

    as_alice = page_as(alice).get("/models/changes/").content.decode()
    bob_client = page_as(bob)
    as_bob = bob_client.get("/models/changes/").content.decode()

    assert approve_url not in as_alice and f"/models/changes/{proposal.pk}/withdraw/" in as_alice
    assert approve_url in as_bob
    assert csrf_post(bob_client, approve_url).status_code == 302
    assert active_version() == good.version
    assert f"Change #{proposal.pk} applied" in bob_client.get("/models/changes/").content.decode()


def test_self_approval_on_the_page_is_refused_with_a_message(alice, active_model, good):
    proposal = approvals.model_version_promote(version=good.version, actor="user:alice", user=alice).proposal
    client = page_as(alice)

    response = csrf_post(client, f"/models/changes/{proposal.pk}/approve/")

    assert response.status_code == 302
    assert "another admin must approve it" in client.get("/models/changes/").content.decode()
    assert active_version() == active_model.version


def test_the_activation_page_proposes_with_four_eyes(alice, active_model, good):
    client = page_as(alice)

    response = csrf_post(client, f"/models/{good.version}/activate/")

    assert response.status_code == 302 and response["Location"] == "/models/changes/"
    assert ChangeProposal.objects.get().kind == "activate"
    assert active_version() == active_model.version


# --- the commands -----------------------------------------------------------------------------


def test_the_commands_propose_list_and_approve(alice, bob, active_model, good):
    out = StringIO()
    call_command("activate_model", str(good.version), "--as", "alice", stdout=out)
    assert "proposed as change #" in out.getvalue()
    proposal = ChangeProposal.objects.get()

    listed = StringIO()
    call_command("approve_change", "--list", stdout=listed)
    assert f"#{proposal.pk}  activate v{good.version}" in listed.getvalue()

    with pytest.raises(CommandError, match="another admin"):
        call_command("approve_change", str(proposal.pk), "--as", "alice")
    call_command("approve_change", str(proposal.pk), "--as", "bob", stdout=StringIO())
    assert active_version() == good.version


def test_the_command_needs_a_named_admin_with_four_eyes(active_model, good):
    with pytest.raises(CommandError, match="--as USERNAME"):
        call_command("activate_model", str(good.version))
    assert not ChangeProposal.objects.exists()
