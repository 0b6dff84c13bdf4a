"""The models page and a version's comparison page: who sees them, what they show, what admins do."""

import pytest

from lifecycle.models import ShadowPeriod
from predictions.models import ModelVersion
from tests.lifecycle.evidence import labelled_evidence, shadow_period_open

MODELS_URL = "/models/"


def comparison_url(version: int) -> str:
    return f"/models/{version}/comparison/"


def shadow_url(version: int) -> str:
    return f"/models/{version}/shadow/"


@pytest.fixture
def candidate(active_model, register_model):
    return register_model(activate=False)


@pytest.fixture
def admin(client, make_user):
    client.force_login(make_user("admin", "root"))
    return client


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_see_every_version(client, make_user, active_model, candidate, role):
    client.force_login(make_user(role))

    response = client.get(MODELS_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="version-1"' in page and 'id="version-2"' in page
    assert "No version is shadowing" in page
    assert ">Models</a>" in page  # the nav link


def test_analysts_may_not_see_the_models_pages(client, make_user, candidate):
    client.force_login(make_user("analyst"))

    assert client.get(MODELS_URL).status_code == 403
    assert client.get(comparison_url(candidate.version)).status_code == 403
    assert ">Models</a>" not in client.get("/").content.decode()


def test_anonymous_visitors_go_to_the_login_page(client, db):
    assert client.get(MODELS_URL).status_code == 302


def test_only_admins_see_the_shadow_button(client, make_user, candidate):
    client.force_login(make_user("auditor"))
    assert "Shadow</button>" not in client.get(MODELS_URL).content.decode()

    client.force_login(make_user("admin", "root"))
    assert "Shadow</button>" in client.get(MODELS_URL).content.decode()


def test_an_admin_shadows_and_stops_from_the_page(admin, candidate):
    response = admin.post(shadow_url(candidate.version), {"backfill_days": "1"}, follow=True)

    assert response.status_code == 200
    assert f"v{candidate.version} shadows v1" in response.content.decode()
    assert "Stop shadowing</button>" in response.content.decode()
    assert ModelVersion.objects.get(pk=candidate.pk).status == "shadow"

    response = admin.post(shadow_url(candidate.version), {"action": "stop"}, follow=True)

    assert "stopped shadowing" in response.content.decode()
    assert ShadowPeriod.objects.get().end_reason == "stopped"


def test_a_refusal_is_a_message_and_changes_nothing(admin, active_model):
    response = admin.post(shadow_url(active_model.version), follow=True)

    assert "cannot shadow itself" in response.content.decode()
    assert not ShadowPeriod.objects.exists()


def test_a_bad_backfill_is_refused_with_the_field(admin, candidate):
    response = admin.post(shadow_url(candidate.version), {"backfill_days": "-3"}, follow=True)

    assert "Backfill days" in response.content.decode()
    assert not ShadowPeriod.objects.exists()


def test_auditors_may_not_shadow(client, make_user, candidate):
    client.force_login(make_user("auditor"))

    assert client.post(shadow_url(candidate.version)).status_code == 403
    assert not ShadowPeriod.objects.exists()


def test_the_comparison_page_shows_the_figures_and_the_gates_reasons(
    client, make_user, active_model, candidate
):
    shadow_period_open(candidate=candidate, active=active_model)
    labelled_evidence(active=active_model, candidate=candidate, missed_frauds=3)
    client.force_login(make_user("auditor"))

    response = client.get(comparison_url(candidate.version))

    assert response.status_code == 200
    page = response.content.decode()
    assert "activation refused" in page
    assert "recall 0.7000 (v2) is lower than 1.0000 (v1)" in page
    assert "70.0%" in page  # the candidate's recall
    assert '<svg class="chart"' in page


def test_the_comparison_page_without_evidence_says_so(client, make_user, candidate):
    client.force_login(make_user("auditor"))

    page = client.get(comparison_url(candidate.version)).content.decode()

    assert "no labelled predictions yet" in page
    assert "never shadowed" in page


def test_a_bad_window_is_400_naming_the_field(client, make_user, candidate):
    client.force_login(make_user("auditor"))

    response = client.get(comparison_url(candidate.version), {"since": "soon"})

    assert response.status_code == 400
    assert "since:" in response.content.decode()


def test_an_unknown_version_is_404(client, make_user, db):
    client.force_login(make_user("auditor"))

    assert client.get(comparison_url(99)).status_code == 404
