"""Who may do what with activations and four eyes: only admins write; auditors read the changes
(who proposed and approved what); analysts and API keys neither. Enforced by the server."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from lifecycle import approvals
from lifecycle.models import ChangeProposal
from predictions.models import ModelVersion


@pytest.fixture
def proposal(settings, make_user, active_model) -> ChangeProposal:
    settings.REQUIRE_SECOND_APPROVER = True
    alice = make_user("admin", "alice")
    result = approvals.threshold_change_propose(
        version=active_model.version, threshold=0.9, actor="user:alice", user=alice
    )
    assert result.proposal is not None
    return result.proposal


def api_writes(version: int, pk: int) -> list[tuple[str, dict]]:
    return [
        (f"/api/v1/models/{version}/activate/", {}),
        (f"/api/v1/models/{version}/activate/", {"force": True, "reason": "sneaky"}),
        (f"/api/v1/models/{version}/threshold/", {"review_threshold": 0.95}),
        (f"/api/v1/models/{version}/audit-sample-rate/", {"audit_sample_rate": 0.5}),
        (f"/api/v1/changes/{pk}/approve/", {}),
        (f"/api/v1/changes/{pk}/reject/", {}),
        (f"/api/v1/changes/{pk}/withdraw/", {}),
    ]


def page_writes(version: int, pk: int) -> list[tuple[str, dict]]:
    return [
        (f"/models/{version}/activate/", {"force": "on", "reason": "sneaky"}),
        ("/models/threshold/", {"version": version, "threshold": "0.95"}),
        ("/models/audit-sample-rate/", {"version": version, "audit_sample_rate": "0.5"}),
        (f"/models/changes/{pk}/approve/", {}),
        (f"/models/changes/{pk}/reject/", {}),
        (f"/models/changes/{pk}/withdraw/", {}),
    ]


def nothing_changed(active_model, proposal, events_before: int) -> None:
    version = ModelVersion.objects.get(pk=active_model.pk)
    assert (version.status, version.review_threshold, version.audit_sample_rate) == ("active", 0.85, 0.0)
    assert ChangeProposal.objects.get().status == ChangeProposal.Status.PENDING
    assert ChangeProposal.objects.count() == 1
    assert AuditEvent.objects.count() == events_before


@pytest.mark.parametrize("role", ["analyst", "auditor", None])
def test_people_who_are_not_admins_are_refused_every_api_write(make_user, active_model, proposal, role):
    client = APIClient()
    client.force_login(make_user(role, f"someone-{role}"))
    events_before = AuditEvent.objects.count()

    statuses = [
        client.post(url, body, format="json").status_code
        for url, body in api_writes(active_model.version, proposal.pk)
    ]

    assert statuses == [403] * len(statuses)
    nothing_changed(active_model, proposal, events_before)


def test_api_keys_are_refused_every_write_and_the_changes(api_client, active_model, proposal):
    events_before = AuditEvent.objects.count()

    statuses = [
        api_client.post(url, body, format="json").status_code
        for url, body in api_writes(active_model.version, proposal.pk)
    ]

    assert statuses == [403] * len(statuses)
    assert api_client.get("/api/v1/changes/").status_code == 403
    nothing_changed(active_model, proposal, events_before)


def test_anonymous_requests_are_refused(client, active_model, proposal):
    for url, _ in api_writes(active_model.version, proposal.pk):
        assert client.post(url).status_code == 401, url
    assert client.get("/api/v1/changes/").status_code == 401
    for url, _ in page_writes(active_model.version, proposal.pk):
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


@pytest.mark.parametrize("role", ["analyst", "auditor"])
def test_people_who_are_not_admins_are_refused_every_page_write(make_user, active_model, proposal, role):
    client = Client()
    client.force_login(make_user(role))
    events_before = AuditEvent.objects.count()

    statuses = [
        client.post(url, body).status_code for url, body in page_writes(active_model.version, proposal.pk)
    ]

    assert statuses == [403] * len(statuses)
    assert client.get(f"/models/{active_model.version}/activate/").status_code == 403
    nothing_changed(active_model, proposal, events_before)


def test_auditors_read_the_changes_but_get_no_buttons(make_user, proposal):
    client = APIClient()
    client.force_login(make_user("auditor"))

    listed = client.get("/api/v1/changes/?status=pending")
    page = client.get("/models/changes/")

    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert (row["id"], row["kind"], row["proposed_by"]) == (proposal.pk, "threshold", "user:alice")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Waiting for an admin" in html
    assert "/approve/" not in html and "/reject/" not in html


def test_the_changes_list_filters_by_status_and_refuses_an_unknown_one(make_user, proposal):
    client = APIClient()
    client.force_login(make_user("admin"))

    assert client.get("/api/v1/changes/?status=applied").json()["results"] == []
    assert len(client.get("/api/v1/changes/").json()["results"]) == 1
    bad = client.get("/api/v1/changes/?status=maybe")
    assert bad.status_code == 400 and list(bad.json()) == ["status"]


def test_analysts_do_not_read_the_changes(make_user, proposal):
    client = APIClient()
    client.force_login(make_user("analyst"))

    assert client.get("/api/v1/changes/").status_code == 403
    assert client.get("/models/changes/").status_code == 403
