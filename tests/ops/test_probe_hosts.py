"""Probes and scrapes whatever the Host header; every other path keeps Django's Host check.

Kubelet and Prometheus' Kubernetes discovery send `Host: <pod IP>:<port>`, which no
ALLOWED_HOSTS lists.
"""

import pytest
from django.test import Client

POD = "10.42.7.19:8000"


@pytest.fixture(autouse=True)
def allowed_hosts(db, settings):  # the scrape reads the queue's gauges
    settings.ALLOWED_HOSTS = ["fraud.example.com"]
    settings.REDIS_URL = ""  # no broker to check


@pytest.fixture
def client() -> Client:
    # Django's test client raises what a view raised; the answer is what is checked here.
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("host", [POD, "10.42.7.19", "[fd00:10:42::7]:8000", "anything.internal:8000"])
def test_liveness_answers_whatever_the_host(client, host):
    response = client.get("/healthz", HTTP_HOST=host)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("host", [POD, "[fd00:10:42::7]:8000", "web.reviewapp.svc.cluster.local"])
def test_readiness_answers_whatever_the_host(active_model, client, host):
    response = client.get("/readyz", HTTP_HOST=host)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("host", [POD, "10.42.7.19", "[fd00:10:42::7]:8000", "fraud.example.com"])
def test_a_scrape_is_answered_with_an_address_or_an_allowed_name_as_host(client, host):
    response = client.get("/metrics", HTTP_HOST=host, REMOTE_ADDR="10.42.0.1")

    assert response.status_code == 200
    assert b"reviewapp_http_responses_total" in response.content


def test_a_scrape_naming_a_host_not_allowed_is_refused(client):
    # A page that points its own name at a private address must not read the metrics through a
    # browser inside the network (DNS rebinding): a name must be allowed.
    response = client.get("/metrics", HTTP_HOST="attacker.example", REMOTE_ADDR="10.42.0.1")

    assert response.status_code == 400


def test_a_scrape_from_outside_still_needs_the_token(client, settings):
    settings.METRICS_TOKEN = "scrape-token"

    refused = client.get("/metrics", HTTP_HOST=POD, REMOTE_ADDR="93.184.216.34")
    allowed = client.get(
        "/metrics", HTTP_HOST=POD, REMOTE_ADDR="93.184.216.34", HTTP_AUTHORIZATION="Bearer scrape-token"
    )

    assert refused.status_code == 403
    assert allowed.status_code == 200


def test_probes_are_counted_but_not_logged(client, scrape_with_host, log_lines):
    client.get("/healthz", HTTP_HOST=POD)

    assert not [line for line in log_lines() if line.get("route") == "healthz"]
    assert scrape_with_host(route="healthz", status="200") >= 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/models/active/"),
        ("get", "/reviews/"),
        ("get", "/accounts/login/"),
        ("post", "/api/v1/predictions/"),
        ("get", "/healthz/"),
        ("post", "/healthz"),
    ],
)
def test_every_other_request_keeps_the_host_check(client, method, path):
    response = getattr(client, method)(path, HTTP_HOST=POD)

    assert response.status_code == 400


def test_the_scoring_route_keeps_the_host_check(api_key_and_secret, active_model, client, transactions):
    response = client.post(
        "/api/v1/predictions/",
        {"features": transactions(1)[0]},
        content_type="application/json",
        HTTP_HOST=POD,
        HTTP_AUTHORIZATION=f"Api-Key {api_key_and_secret[1]}",
    )

    assert response.status_code == 400


@pytest.fixture
def scrape_with_host(client):
    from tests.ops.conftest import parse_metrics, sample

    def count(**labels: str) -> float:
        response = client.get("/metrics", HTTP_HOST=POD, REMOTE_ADDR="127.0.0.1")
        samples = parse_metrics(response.content.decode())
        return sample(samples, "reviewapp_http_responses_total", method="GET", **labels)

    return count
