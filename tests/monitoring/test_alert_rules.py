"""The Prometheus alert rules: valid, behaving as their unit tests say, on metrics the app exposes."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from monitoring import services
from monitoring.models import DriftReport, FeatureDrift
from reviewapp import metrics
from tests.predictions.helpers import PREDICT_URL, post_json

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "alerts.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    """Debian's `prometheus` package ships it; under CI its absence is a failure, not a skip."""
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true, but promtool is missing: apt-get install prometheus")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def test_the_rules_file_is_valid(promtool):
    result = run(promtool, "check", "rules", str(RULES))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout


def test_each_alert_fires_when_its_unit_tests_say_and_only_then(promtool):
    result = run(promtool, "test", "rules", str(DEPLOY / "alerts.test.yml"))

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_prometheus_configuration_loads_the_rules(promtool, tmp_path):
    # The container mounts the rules at /etc/prometheus/alerts.yml; point at the file here.
    config = (DEPLOY / "prometheus.yml").read_text().replace("/etc/prometheus/alerts.yml", str(RULES))
    (tmp_path / "prometheus.yml").write_text(config)

    result = run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout


def test_every_rule_has_a_severity_and_a_runbook_section_that_exists():
    operations = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    # GitHub's anchors: lower case, punctuation dropped, spaces as hyphens.
    headings = re.findall(r"^#+ (.+)$", operations, re.M)
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"page", "ticket", "info"}, rule["alert"]
            anchor = rule["annotations"]["runbook"].split("#")[1]
            assert anchor in anchors, f"{rule['alert']}: no '{anchor}' heading in docs/operations.md"


def test_the_rules_use_only_metrics_the_app_exposes(
    active_model, api_client, transactions, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_json(api_client, PREDICT_URL, {"features": transactions(1)[0]})
    report = DriftReport.objects.create(
        model_version=active_model,
        window_start=timezone.now(),
        window_end=timezone.now(),
        sample_size=500,
        score_psi=0.01,
        score_state="ok",
    )
    FeatureDrift.objects.create(report=report, feature="amount", psi=0.01, state="ok")
    services.worker_heartbeat_record(hostname="test")
    body, _ = metrics.exposition()
    exposed = {s.name for f in text_string_to_metric_families(body.decode()) for s in f.samples}

    used = set(re.findall(r"\breviewapp_\w+", RULES.read_text()))

    assert used, "no reviewapp metric in the rules?"
    assert used <= exposed, f"not exposed: {sorted(used - exposed)}"
