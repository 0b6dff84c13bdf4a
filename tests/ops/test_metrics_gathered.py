"""The scoring path's counts are gathered in memory and written out together, none lost or doubled."""

import json
import os
import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

from reviewapp import metrics
from reviewapp.metrics import GatheredCounts

BOUNDS = (0.5, 0.75, 1.0)


@pytest.fixture
def registry():
    return CollectorRegistry()


@pytest.fixture
def counter(registry):
    return Counter("reviewapp_test", "A test counter.", ["kind"], registry=registry)


@pytest.fixture
def histogram(registry):
    return Histogram(
        "reviewapp_test_seconds", "A test histogram.", ["kind"], buckets=BOUNDS, registry=registry
    )


def value(registry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_counts_show_once_written_out_and_only_once(settings, registry, counter, histogram):
    settings.METRICS_GATHER_SECONDS = 3600  # the writer thread stays out of the way
    gathered = GatheredCounts()

    gathered.inc(counter, ("a",))
    gathered.inc(counter, ("a",), 2)
    gathered.inc(counter, ("b",))
    gathered.observe_all(histogram, ("a",), [0.4, 0.8])
    gathered.observe_all(histogram, ("a",), [0.75])

    assert value(registry, "reviewapp_test_total", kind="a") == 0
    gathered.write_out()
    gathered.write_out()  # nothing more to write
    assert value(registry, "reviewapp_test_total", kind="a") == 3
    assert value(registry, "reviewapp_test_total", kind="b") == 1
    assert value(registry, "reviewapp_test_seconds_count", kind="a") == 3
    assert value(registry, "reviewapp_test_seconds_sum", kind="a") == pytest.approx(1.95)
    assert value(registry, "reviewapp_test_seconds_bucket", kind="a", le="0.5") == 1
    assert value(registry, "reviewapp_test_seconds_bucket", kind="a", le="0.75") == 2  # 0.75 is in it
    assert value(registry, "reviewapp_test_seconds_bucket", kind="a", le="1.0") == 3


def test_gathered_observations_are_those_of_observe_one_at_a_time(settings, registry, histogram):
    settings.METRICS_GATHER_SECONDS = 3600
    gathered = GatheredCounts()
    amounts = [0.5, 0.2, 0.75, 0.9, 1.0, 7.5, -1.0, 0.6]

    for amount in amounts:
        histogram.labels("one").observe(amount)
        gathered.observe_all(histogram, ("gathered",), [amount])
    gathered.write_out()

    for suffix, le in [("_count", None), ("_sum", None), *(("_bucket", str(b)) for b in (*BOUNDS, "+Inf"))]:
        extra = {"le": le} if le else {}
        name = f"reviewapp_test_seconds{suffix}"
        assert value(registry, name, kind="gathered", **extra) == value(registry, name, kind="one", **extra)


def test_with_no_interval_each_count_is_written_at_once(settings, registry, counter, histogram):
    settings.METRICS_GATHER_SECONDS = 0
    gathered = GatheredCounts()

    gathered.inc(counter, ("a",))
    gathered.observe_all(histogram, ("a",), [0.3])

    assert value(registry, "reviewapp_test_total", kind="a") == 1
    assert value(registry, "reviewapp_test_seconds_count", kind="a") == 1


def test_a_thread_writes_them_out_without_a_scrape(settings, registry, counter):
    settings.METRICS_GATHER_SECONDS = 0.05
    gathered = GatheredCounts()

    gathered.inc(counter, ("a",), 5)
    gathered.written.clear()  # the next write-out starts after the count above

    assert gathered.written.wait(timeout=10)
    assert value(registry, "reviewapp_test_total", kind="a") == 5


def test_a_scrape_writes_out_the_counts_of_its_own_process_first(db):
    route = "test-gathered-route"
    metrics.request_observe(route=route, method="GET", status=204, seconds=0.01)

    body, _ = metrics.exposition()

    assert f'reviewapp_http_responses_total{{method="GET",route="{route}",status="204"}} 1.0' in body.decode()


EXITING = """
import json, multiprocessing, sys
from prometheus_client import Counter, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from reviewapp.metrics import gathered

COUNTED = Counter("reviewapp_test", "A test counter.", ["by"])

def count(by):
    gathered.inc(COUNTED, (by,), 3)

if __name__ == "__main__":
    # A web server's worker is a multiprocessing child: it exits without running atexit.
    child = multiprocessing.get_context(sys.argv[1]).Process(target=count, args=("child",))
    child.start()
    child.join()
    count("parent")  # written out by atexit, after the line below is printed
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    print(json.dumps(registry.get_sample_value("reviewapp_test_total", {"by": "child"})))
"""


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_a_process_writes_out_what_it_gathered_as_it_exits(tmp_path, start):
    """In multiprocess mode, as the web server's workers count, nothing gathered is lost at exit."""
    program = tmp_path / "exiting.py"
    program.write_text(EXITING)
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "METRICS_GATHER_SECONDS": "3600",  # so only the exit writes them out
        "PYTHONPATH": os.getcwd(),
    }

    output = subprocess.run(
        [sys.executable, str(program), start], capture_output=True, text=True, check=True, env=env
    ).stdout

    assert json.loads(output) == 3  # the child's, written as it exited
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    assert registry.get_sample_value("reviewapp_test_total", {"by": "parent"}) == 3  # at exit
