"""The quality pages, /quality/ and /quality/thresholds/: who sees them, what they show, how a
bad window is answered."""

import pytest
from django.test import Client

from tests.outcomes.quality_factories import (
    FRAUD,
    IN_WEEK_2,
    LEGIT,
    LOW,
    WINDOW,
    decide,
    model_version,
    prediction,
)

SCORECARD, THRESHOLDS = "/quality/", "/quality/thresholds/"


@pytest.fixture
def page_client(make_user):
    def make(role: str | None) -> Client:
        client = Client()
        client.force_login(make_user(role))
        return client

    return make


@pytest.fixture
def reviewed(db, make_user):
    version = model_version(1)
    prediction(version=version, score=0.92, outcome=LEGIT)
    prediction(version=version, score=0.05, outcome=FRAUD)
    decide(
        prediction(version=version, score=0.7, outcome=LEGIT, reason=LOW),
        reviewer=make_user("analyst", "ana"),
        label=LEGIT,
        seconds=75,
    )
    return version


@pytest.mark.parametrize("url", [SCORECARD, THRESHOLDS])
def test_anonymous_people_are_sent_to_log_in(db, url):
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", [SCORECARD, THRESHOLDS])
def test_analysts_may_not_see_them(page_client, url):
    assert page_client("analyst").get(url).status_code == 403


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_the_scorecard_page_shows_the_figures_and_the_charts(page_client, reviewed, role):
    response = page_client(role).get(SCORECARD, WINDOW)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="quality-tiles"' in html and 'id="confusion"' in html
    assert '<th scope="row">ana</th>' in html  # the analysts' table
    assert html.count('<svg class="chart') == 2  # outcomes arriving, calibration
    assert "100.0%" in html  # the false positive review removed
    assert "style=" not in html  # the Content Security Policy allows no inline style


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_the_what_if_page_shows_every_threshold_and_the_recommendation(page_client, reviewed, role):
    response = page_client(role).get(THRESHOLDS, {**WINDOW, "analyst_hours_per_day": "4"})

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<th scope="row" class="num">0.') == 50
    assert "recommended" in html
    assert html.count('<svg class="chart') == 2  # cost, hours
    assert "measured over 1 reviewed-band decisions" in html
    assert "style=" not in html


def test_only_an_admin_is_offered_to_apply_a_threshold(page_client, reviewed):
    as_admin = page_client("admin").get(THRESHOLDS, WINDOW).content.decode()
    as_auditor = page_client("auditor").get(THRESHOLDS, WINDOW).content.decode()

    assert 'action="/models/threshold/"' in as_admin
    assert 'name="csrfmiddlewaretoken"' in as_admin
    assert "/models/threshold/" not in as_auditor


def test_the_what_if_page_says_when_the_human_figures_are_assumed(page_client, db):
    version = model_version(1)
    prediction(version=version, score=0.6, outcome=FRAUD)

    html = page_client("auditor").get(THRESHOLDS, WINDOW).content.decode()

    assert "<strong>assumed</strong>" in html


@pytest.mark.parametrize("url", [SCORECARD, THRESHOLDS])
def test_a_bad_window_is_a_400_with_the_reason_by_its_field(page_client, reviewed, url):
    response = page_client("auditor").get(url, {"since": "2026-02-02", "until": "2026-02-01"})

    assert response.status_code == 400
    assert 'id="id_since_error"' in response.content.decode()
    assert "is after until" in response.content.decode()


def test_a_bad_cost_is_a_400_with_the_reason_by_its_field(page_client, reviewed):
    response = page_client("auditor").get(THRESHOLDS, {"cost_missed_fraud": "-5"})

    assert response.status_code == 400
    assert 'id="id_cost_missed_fraud_error"' in response.content.decode()


def test_an_empty_database_still_renders(page_client, db):
    admin = page_client("admin")

    scorecard, what_if = admin.get(SCORECARD), admin.get(THRESHOLDS)

    assert (scorecard.status_code, what_if.status_code) == (200, 200)
    assert "No prediction of this window has an outcome" in scorecard.content.decode()
    assert "no active model" in what_if.content.decode()


def test_recent_weeks_without_outcomes_are_pointed_out(page_client, db):
    version = model_version(1)
    for _ in range(4):
        prediction(version=version, score=0.1, outcome=LEGIT)
    for _ in range(4):
        prediction(version=version, score=0.1, created_at=IN_WEEK_2)

    html = page_client("auditor").get(SCORECARD, WINDOW).content.decode()

    assert "Recent weeks are not labelled yet" in html and "2026-W04 (0.0%)" in html


def test_the_navigation_links_auditors_and_admins_to_quality(page_client, db):
    assert 'href="/quality/"' in page_client("auditor").get("/audit/").content.decode()
    assert 'href="/quality/"' not in page_client("analyst").get("/reviews/").content.decode()
