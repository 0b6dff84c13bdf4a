"""/models/<version>/card/: the model card as a page, with a retrained version's provenance."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client

from lifecycle import retraining
from predictions import model_card
from predictions.models import ModelVersion
from tests.lifecycle.retrain_history import history


def card_url(version: int) -> str:
    return f"/models/{version}/card/"


@pytest.fixture
def signed_in(make_user):
    def sign_in(role: str) -> Client:
        client = Client()
        client.force_login(make_user(role))
        return client

    return sign_in


@pytest.fixture
def retrained(active_model, make_user) -> ModelVersion:
    history(active_model, rows=300, reviewer=make_user("analyst", username="analyst-1"))
    return retraining.model_version_retrain(
        since=retraining.retrain_window_start(), include_reviews=True, actor="test", shadow=False
    )


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_read_a_retrained_versions_provenance(signed_in, retrained, role):
    response = signed_in(role).get(card_url(retrained.version))

    assert response.status_code == 200
    html = response.content.decode()
    assert f"Model card: card-fraud v{retrained.version}" in html
    assert "<h2>Labels</h2>" in html
    outcome_fraud = retrained.training_info["training_labels"]["outcome"]["fraud"]
    assert f"<tr><td>Outcome</td><td>fraud</td><td>{outcome_fraud}</td>" in html
    assert "<code>train_model --from-outcomes</code>" in html
    assert "<strong>Staged</strong>" in html


def test_it_offers_the_markdown_the_command_prints(signed_in, active_model):
    response = signed_in("auditor").get(card_url(active_model.version), {"download": "1"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="model-card-v{active_model.version}.md"'
    assert response.content.decode() == model_card.render(active_model)


@pytest.mark.parametrize("role", ["analyst", None])
def test_analysts_and_other_users_may_not_read_it(signed_in, active_model, role):
    assert signed_in(role).get(card_url(active_model.version)).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, active_model):
    response = client.get(card_url(active_model.version))

    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))


def test_an_unknown_version_is_not_found(signed_in, db):
    assert signed_in("auditor").get(card_url(99)).status_code == 404


def test_what_the_registry_holds_is_escaped(signed_in, active_model):
    ModelVersion.objects.filter(pk=active_model.pk).update(
        training_info={"source": "<script>alert(1)</script>"}
    )

    html = signed_in("admin").get(card_url(active_model.version)).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
