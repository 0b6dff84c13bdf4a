"""Observing many amounts at once gives the histogram `observe` would, one amount at a time."""

import json
import os
import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from reviewapp.metrics import GatheredCounts

BOUNDS = (0.5, 0.6, 0.75, 0.9, 1.0)
# On the bounds, between them, below the first, above the last, negative, and NaN.
AMOUNTS = [0.5, 0.6, 0.55, 0.75, 0.9, 0.91, 1.0, 0.2, -1.0, 7.5, 0.6, 0.6, float("nan"), 0.99]


def observe_gathered(histogram: Histogram, labels: tuple[str, ...], amounts: list[float]) -> None:
    """Every amount observed at once, as the scoring path counts them, and written out."""
    gathered = GatheredCounts()
    gathered.observe_all(histogram, labels, amounts)
    gathered.write_out()


def _samples(*, bulk: bool) -> dict[str, float]:
    registry = CollectorRegistry()
    histogram = Histogram(
        "reviewapp_test", "A test histogram.", ["version"], buckets=BOUNDS, registry=registry
    )
    if bulk:
        observe_gathered(histogram, ("3",), AMOUNTS)
    else:
        for amount in AMOUNTS:
            histogram.labels("3").observe(amount)
    return {
        f"{sample.name}{sorted(sample.labels.items())}": sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def test_buckets_count_and_sum_are_those_of_one_observation_at_a_time():
    one_at_a_time, bulk = _samples(bulk=False), _samples(bulk=True)

    assert bulk.keys() == one_at_a_time.keys()
    for name, value in one_at_a_time.items():
        if name.startswith("reviewapp_test_sum"):
            assert str(bulk[name]) == str(value) == "nan"  # a NaN observed poisons the sum alike
        else:
            assert bulk[name] == value, name
    # Cumulative: 0.5, 0.6, 0.55, 0.2, -1.0, 0.6 and 0.6 are at most 0.6.
    assert bulk["reviewapp_test_bucket[('le', '0.6'), ('version', '3')]"] == 7


def test_without_nan_the_sums_agree():
    amounts = [a for a in AMOUNTS if a == a]
    registry = CollectorRegistry()
    one = Histogram("one", "one", buckets=BOUNDS, registry=registry)
    many = Histogram("many", "many", buckets=BOUNDS, registry=registry)
    for amount in amounts:
        one.observe(amount)

    observe_gathered(many, (), amounts)

    assert generate_latest(registry).decode().count("\n") > 10
    assert registry.get_sample_value("many_sum") == pytest.approx(
        registry.get_sample_value("one_sum"), abs=1e-12
    )
    assert registry.get_sample_value("many_count") == registry.get_sample_value("one_count") == len(amounts)


def test_in_multiprocess_mode_the_files_hold_the_same_counts(tmp_path):
    """The web server's workers write their values to files: the bulk writes must land there."""
    program = f"""
import json, os, sys
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from reviewapp.metrics import GatheredCounts
bulk = sys.argv[1] == "bulk"
amounts = [a for a in {[a for a in AMOUNTS if a == a]!r}]
histogram = Histogram("reviewapp_test", "test", buckets={BOUNDS!r})
if bulk:
    gathered = GatheredCounts()
    gathered.observe_all(histogram, (), amounts)
    gathered.write_out()
else:
    for amount in amounts:
        histogram.observe(amount)
registry = CollectorRegistry()
MultiProcessCollector(registry)
print(json.dumps({{s.name + s.labels.get("le", ""): s.value for m in registry.collect() for s in m.samples}}))
"""
    results = {}
    for way in ("one", "bulk"):
        directory = tmp_path / way
        directory.mkdir()
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
        output = subprocess.run(
            [sys.executable, "-c", program, way], capture_output=True, text=True, check=True, env=env, cwd="."
        ).stdout
        results[way] = json.loads(output)

    assert results["bulk"].keys() == results["one"].keys()
    assert results["bulk"]["reviewapp_test_count"] == 13
    for name, value in results["one"].items():
        assert results["bulk"][name] == pytest.approx(value, abs=1e-12), name
