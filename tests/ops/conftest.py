import io
import json
import logging
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

from predictions import services
from predictions.models import ModelVersion
from reviewapp.logs import JsonFormatter


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_metrics(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, keyed by (sample name, its labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def scrape(client):
    """scrape(): the parsed /metrics of this process, read from loopback."""

    def run() -> dict[tuple[str, frozenset], float]:
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 200
        return parse_metrics(response.content.decode())

    return run


def sample(samples: dict, name: str, **labels: str) -> float:
    """One sample's value, 0 when absent (a counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape_once_counted(url: str, name: str, expected: float, **labels: str) -> dict:
    """A scrape of a running server's /metrics once `name` has reached `expected`.

    Each worker writes the counts it gathers out every METRICS_GATHER_SECONDS (the one answering
    writes its own first), so another worker's last requests can take that long to show.
    """
    from tests.servers import get
    from tests.worker import wait_until

    def scraped() -> dict | None:
        status, _, body = get(url)
        assert status == 200, body
        samples = parse_metrics(body.decode())
        return samples if sample(samples, name, **labels) == expected else None

    return wait_until(scraped, timeout=10, what=f"{name} {labels} to reach {expected}")


@pytest.fixture
def review_model(register_model) -> ModelVersion:
    """An active model whose review threshold is 1.0, so every prediction goes to review."""
    version = register_model(activate=False)
    ModelVersion.objects.filter(pk=version.pk).update(review_threshold=1.0)
    return services.model_version_activate(version=version.version, actor="test")


@pytest.fixture
def log_lines():
    """log_lines(): what the configured console handler wrote since the test began, parsed."""
    (console,) = [handler for handler in logging.getLogger().handlers if handler.name == "console"]
    assert isinstance(console.formatter, JsonFormatter), "tests expect LOG_FORMAT=json (the default)"
    stream = io.StringIO()
    previous = console.setStream(stream)

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    console.setStream(previous)
