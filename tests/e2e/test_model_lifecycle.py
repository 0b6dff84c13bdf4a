"""An admin shadows a staged version from the models page and reads its comparison, in a browser."""

import pytest
from playwright.sync_api import expect

from lifecycle.models import ShadowScore
from predictions import services as prediction_services
from tests.e2e.test_analyst_workspace import log_in, screenshot
from tests.lifecycle.evidence import labelled_evidence

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def traffic(active_model, api_key_and_secret, transactions):
    prediction_services.predictions_create_batch(
        api_key=api_key_and_secret[0],
        items=[{"request_id": f"lifecycle-e2e-{n}", "features": f} for n, f in enumerate(transactions(30))],
    )


def test_an_admin_shadows_a_version_and_reads_its_comparison(
    pages, make_user, active_model, register_model, traffic
):
    candidate = register_model(activate=False)
    make_user("admin", "root")
    page = pages.open()
    log_in(page, "root")

    page.get_by_role("link", name="Models").click()
    row = page.locator(f"#version-{candidate.version}")
    row.get_by_label(f"Backfill days for v{candidate.version}").fill("1")
    row.get_by_role("button", name="Shadow").click()

    shadows = f"v{candidate.version} shadows v{active_model.version}"
    expect(page.get_by_role("status")).to_contain_text(shadows)
    expect(row.get_by_role("button", name="Stop shadowing")).to_be_visible()
    assert ShadowScore.objects.filter(model_version=candidate).count() == 30
    screenshot(page, "models-admin")
    # Outcomes on some of them, so the labelled figures and the gate have evidence.
    labelled_evidence(active=active_model, candidate=candidate, missed_frauds=3)

    row.get_by_role("link", name="Comparison").click()

    expect(page.get_by_role("heading", name=f"v{candidate.version} against the active model")).to_be_visible()
    expect(page.locator("#gate")).to_contain_text("activation refused")
    expect(page.locator("#labelled-figures")).to_contain_text("Recall")
    expect(page.locator("svg.chart")).to_be_visible()
    screenshot(page, "model-comparison")
    assert pages.problems == []


def test_an_auditor_reads_but_cannot_shadow(pages, make_user, active_model, register_model):
    candidate = register_model(activate=False)
    make_user("auditor", "aud")
    page = pages.open()
    log_in(page, "aud")

    page.goto("/models/")

    expect(page.locator(f"#version-{candidate.version}")).to_be_visible()
    expect(page.get_by_role("button", name="Shadow")).to_have_count(0)
    screenshot(page, "models-auditor")
    assert pages.problems == []
