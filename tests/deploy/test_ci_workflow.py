"""The GitHub workflow: actions pinned by commit, and the tools the tests need installed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "ci.yml"


def steps(job: str) -> list[dict[str, Any]]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"][job]["steps"]


def test_every_action_is_pinned_by_a_full_commit_with_its_tag_alongside() -> None:
    uses = [line.strip() for line in WORKFLOW.read_text().splitlines() if "uses:" in line]
    assert uses
    loose = [
        line for line in uses if not re.search(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", line)
    ]
    assert loose == []


def test_the_test_job_installs_the_browser_and_promtool() -> None:
    commands = "\n".join(step.get("run", "") for step in steps("test"))
    install = next(line for line in commands.splitlines() if "apt-get install" in line).split()
    assert {"chromium", "prometheus"} <= set(install)
    assert "make test" in commands


def test_the_helm_job_lints_and_installs_the_chart_on_kind() -> None:
    job = steps("helm")
    commands = "\n".join(step.get("run", "") for step in job)
    assert "helm lint --strict deploy/helm/reviewapp" in commands
    assert "ct lint-and-install --config deploy/helm/ct.yaml" in commands
    actions = {step["uses"].split("@")[0] for step in job if "uses" in step}
    assert {"azure/setup-helm", "helm/chart-testing-action", "helm/kind-action"} <= actions
