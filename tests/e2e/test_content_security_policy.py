"""The Content Security Policy in a real browser: every main page loads without a violation."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_analyst_workspace import PASSWORD, review_queue, screenshot  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_main_pages_load_without_csp_violations(pages, review_queue, make_user):  # noqa: F811
    make_user("admin", "root")
    page = pages.open()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")

    for name, url in [
        ("csp-queue", "/reviews/"),
        ("csp-item", f"/reviews/items/{review_queue[0].pk}/"),
        ("csp-audit-search", "/audit/"),
        ("csp-monitoring", "/monitoring/"),
        ("csp-api-docs", "/api/docs/"),
        ("csp-admin", "/admin/"),
    ]:
        response = page.goto(url)
        assert response.status == 200, url
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        screenshot(page, name)

    expect(page.locator("body")).to_be_visible()
    assert violations == []
    assert pages.problems == []
