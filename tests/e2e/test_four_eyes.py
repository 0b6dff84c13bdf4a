"""In a browser: the promotion gate refuses a worse version on its page and an admin forces it with
a reason; with four eyes on, one admin proposes and another approves on the changes page."""

import pytest
from playwright.sync_api import expect

from lifecycle.models import ChangeProposal
from predictions.models import ModelVersion
from tests.e2e.test_analyst_workspace import log_in, screenshot
from tests.lifecycle.evidence import labelled_evidence, shadow_period_open

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worse(active_model, register_model) -> ModelVersion:
    candidate = register_model(activate=False)
    shadow_period_open(candidate=candidate, active=active_model)
    labelled_evidence(active=active_model, candidate=candidate, missed_frauds=3)
    return candidate


def active_version() -> int:
    return ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).version


def test_the_gate_refuses_and_an_admin_forces_with_a_reason(pages, make_user, active_model, worse):
    make_user("admin", "root")
    page = pages.open()
    log_in(page, "root")

    page.goto(f"/models/{worse.version}/activate/")
    expect(page.locator("#gate")).to_contain_text("refused")
    expect(page.locator("#gate-figures")).to_contain_text("Recall")
    screenshot(page, "model-activate-refused")
    page.get_by_role("button", name=f"Activate v{worse.version}").click()
    expect(page.locator("#refused")).to_be_visible()

    page.get_by_label("Force it past the promotion gate").check()
    page.get_by_role("button", name=f"Activate v{worse.version}").click()
    expect(page.locator("#reason-error")).to_contain_text("needs a reason")
    page.get_by_label("Force it past the promotion gate").check()
    page.get_by_label("Reason").fill("INC-4711: the new features catch the ring")
    page.get_by_role("button", name=f"Activate v{worse.version}").click()

    expect(page.get_by_role("status")).to_contain_text(f"v{worse.version} is active past the promotion gate")
    assert active_version() == worse.version
    assert pages.problems == []


def test_one_admin_proposes_and_another_approves(pages, make_user, active_model, worse, settings):
    settings.REQUIRE_SECOND_APPROVER = True
    make_user("admin", "alice")
    make_user("admin", "bob")
    alice = pages.open()
    log_in(alice, "alice")
    alice.goto(f"/models/{worse.version}/activate/")
    alice.get_by_label("Force it past the promotion gate").check()
    alice.get_by_label("Reason").fill("INC-4711")
    alice.get_by_role("button", name=f"Propose v{worse.version}").click()

    expect(alice.get_by_role("status")).to_contain_text("Proposed as change #")
    proposal = ChangeProposal.objects.get()
    expect(alice.get_by_role("button", name=f"Approve change {proposal.pk}")).to_have_count(0)
    assert active_version() == active_model.version

    bob = pages.open()
    log_in(bob, "bob")
    bob.goto("/models/changes/")
    screenshot(bob, "changes-pending")
    bob.get_by_role("button", name=f"Approve change {proposal.pk}").click()

    expect(bob.get_by_role("status")).to_contain_text(f"Change #{proposal.pk} applied")
    assert active_version() == worse.version
    screenshot(bob, "changes-applied")
    assert pages.problems == []
