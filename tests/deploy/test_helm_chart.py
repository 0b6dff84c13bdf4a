"""The Helm chart (deploy/helm/reviewapp), checked offline.

Rendered in-process by Helm's own Go SDK (helm-python-sdk, no binary), with the default
values, the kind values chart-testing installs, and "everything on"; every object is checked
strictly against the Kubernetes API's schemas (kubernetes-validate) of the oldest version the
chart supports and of the newest the package ships, custom resources with the validators
kubernetes-models generates from the KEDA and prometheus-operator CRDs (npm packages, pinned and
hash-locked in tests/deploy/crd/, run by Node). Then what the deployment depends on is asserted one fact at a
time. `helm lint` and a real install on kind run in the GitHub workflow only.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "reviewapp"
HERE = Path(__file__).resolve().parent
# The chart's kubeVersion floor (Chart.yaml) and the newest schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
CUSTOM_KINDS = {("keda.sh/v1alpha1", "ScaledObject"), ("monitoring.coreos.com/v1", "ServiceMonitor")}
CRD_VALIDATOR = HERE / "crd"
RELEASE, NAMESPACE = "rv", "fraud"
FULLNAME = "rv-reviewapp"

Manifest = dict[str, Any]


def values_file(name: str) -> dict[str, Any]:
    paths = {
        "default": None,
        "kind": CHART / "ci" / "kind-values.yaml",
        "everything-on": HERE / "values-everything-on.yaml",
    }
    path = paths[name]
    return yaml.safe_load(path.read_text()) if path else {}


def render(values: dict[str, Any] | None = None) -> list[Manifest]:
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return [
        doc
        for path, text in sorted(files.items())
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


@cache
def _rendered(name: str) -> str:
    return json.dumps(render(values_file(name)))


def rendered(name: str) -> list[Manifest]:
    """The named values' objects (rendered once per session; each caller gets its own copy)."""
    return json.loads(_rendered(name))


def with_values(name: str, **changes: Any) -> dict[str, Any]:
    values = copy.deepcopy(values_file(name))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return values


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def kinds(manifests: list[Manifest]) -> set[str]:
    return {m["kind"] for m in manifests}


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, dict[str, Any]]]:
    for m in manifests:
        if m["kind"] in {"Deployment", "Job"}:
            yield f"{m['kind']}/{m['metadata']['name']}", m["spec"]["template"]["spec"]
        elif m["kind"] == "Pod":
            yield f"Pod/{m['metadata']['name']}", m["spec"]


def container(manifests: list[Manifest], deployment: str) -> dict[str, Any]:
    workload = next(
        m for m in manifests if m["kind"] in {"Deployment", "Job"} and m["metadata"]["name"] == deployment
    )
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def env(container_spec: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container_spec.get("env", [])}


@cache
def crd_validator_installed() -> Path:
    """tests/deploy/crd/ with its node_modules, installed from its lock file on first use."""
    if not (shutil.which("node") and shutil.which("npm")):
        if os.environ.get("CI") == "true":
            pytest.fail("Node and npm are needed to check the custom resources (.ci/run installs them)")
        pytest.skip("Node and npm are needed to check the custom resources")
    if not (CRD_VALIDATOR / "node_modules").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel", "error"], cwd=CRD_VALIDATOR, check=True
        )
    return CRD_VALIDATOR


def crd_errors(manifests: list[Manifest]) -> list[list[str]]:
    """Each manifest's errors against the validator generated from its CRD ([] when valid)."""
    result = subprocess.run(
        ["node", "validate.mjs"],
        cwd=crd_validator_installed(),
        input=json.dumps(manifests),
        capture_output=True,
        text=True,
        check=True,
    )
    errors: list[list[str]] = json.loads(result.stdout)
    return errors


VALUES = ("default", "kind", "everything-on")


# The objects themselves.


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values", VALUES)
def test_every_object_is_valid_for_kubernetes(values: str, version: str) -> None:
    for manifest in rendered(values):
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_kubernetes_check_would_catch_a_misspelt_field() -> None:
    web = one(rendered("default"), "Deployment", f"{FULLNAME}-web")
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError, match="paht"):
        kubernetes_validate.validate(web, KUBERNETES_VERSIONS[-1], strict=True)


def test_custom_resources_match_their_crds() -> None:
    manifests = rendered("everything-on")
    custom = [m for m in manifests if (m["apiVersion"], m["kind"]) in CUSTOM_KINDS]
    assert sorted(m["kind"] for m in custom) == ["ScaledObject", "ServiceMonitor"]
    assert crd_errors(custom) == [[], []]


def test_the_crd_check_would_catch_a_wrong_value() -> None:
    scaled = one(rendered("everything-on"), "ScaledObject", f"{FULLNAME}-worker")
    scaled["spec"]["minReplicaCount"] = "one"
    [errors] = crd_errors([scaled])
    assert any("minReplicaCount must be integer" in error for error in errors)


def test_defaults_need_no_custom_resource_definitions() -> None:
    # Installs on a cluster without KEDA or prometheus-operator.
    assert kinds(rendered("default")) == {
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "Pod",
        "PodDisruptionBudget",
        "Secret",
        "Service",
    }


@pytest.mark.parametrize("values", VALUES)
def test_helm_lint_finds_nothing(values: str) -> None:
    for kube_version in KUBERNETES_VERSIONS:
        report = helm.lint(str(CHART), values_file(values), strict=True, kube_version=f"v{kube_version}")
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        assert (report["errors"], problems) == ([], [])


# Web.


def test_web_probes_ask_readyz_to_start_and_serve_and_healthz_to_live() -> None:
    web = container(rendered("default"), f"{FULLNAME}-web")
    probes = {
        name: (web[name]["httpGet"]["path"], web[name]["httpGet"]["port"])
        for name in ("startupProbe", "readinessProbe", "livenessProbe")
    }
    assert probes == {
        "startupProbe": ("/readyz", "http"),
        "readinessProbe": ("/readyz", "http"),
        "livenessProbe": ("/healthz", "http"),
    }
    assert web["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]


def test_web_concurrency_follows_the_cpu_request_in_whole_cores() -> None:
    web = container(rendered("default"), f"{FULLNAME}-web")
    # divisor 1 rounds the request up to whole cores: 1 -> 1, 1500m -> 2, 250m -> 1.
    assert env(web)["WEB_CONCURRENCY"] == {
        "resourceFieldRef": {"containerName": "web", "resource": "requests.cpu", "divisor": "1"}
    }
    assert web["resources"]["requests"]["cpu"] == "1"
    assert web["command"] == ["python", "serve.py"]


def test_a_set_web_concurrency_is_passed_as_it_is() -> None:
    web = container(render(with_values("default", web__concurrency=3)), f"{FULLNAME}-web")
    assert env(web)["WEB_CONCURRENCY"] == "3"


def test_the_hpa_scales_web_on_cpu_and_owns_its_replicas() -> None:
    manifests = rendered("everything-on")
    hpa = one(manifests, "HorizontalPodAutoscaler", f"{FULLNAME}-web")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"{FULLNAME}-web",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 20)
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 65}},
        }
    ]
    assert "replicas" not in one(manifests, "Deployment", f"{FULLNAME}-web")["spec"]


def test_without_the_hpa_web_has_fixed_replicas() -> None:
    manifests = render(
        with_values(
            "default",
            web__autoscaling={
                "enabled": False,
                "minReplicas": 2,
                "maxReplicas": 10,
                "targetCPUUtilizationPercentage": 70,
            },
        )
    )
    assert "HorizontalPodAutoscaler" not in kinds(manifests)
    assert one(manifests, "Deployment", f"{FULLNAME}-web")["spec"]["replicas"] == 2


def test_the_disruption_budget_covers_the_web_pods() -> None:
    manifests = rendered("default")
    pdb = one(manifests, "PodDisruptionBudget", f"{FULLNAME}-web")
    web = one(manifests, "Deployment", f"{FULLNAME}-web")
    assert pdb["spec"]["selector"] == web["spec"]["selector"]
    assert pdb["spec"]["maxUnavailable"] == 1
    assert one(rendered("everything-on"), "PodDisruptionBudget", f"{FULLNAME}-web")["spec"] == {
        "minAvailable": 2,
        "selector": web["spec"]["selector"],
    }


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"web": {"autoscaling": {"minReplicas": 5, "maxReplicas": 3}}}, "minReplicas is above maxReplicas"),
        (
            {"worker": {"keda": {"enabled": True, "minReplicaCount": 5, "maxReplicaCount": 2}}},
            "above maxReplicaCount",
        ),
        (
            {"web": {"podDisruptionBudget": {"maxUnavailable": None, "minAvailable": None}}},
            "needs minAvailable or",
        ),
    ],
)
def test_contradictory_replica_counts_are_refused(change: dict[str, Any], complaint: str) -> None:
    values = with_values("everything-on")
    for section, settings in change.items():
        for key, value in settings.items():
            if isinstance(value, dict):
                values[section][key].update(value)
            else:
                values[section][key] = value
    with pytest.raises(helm.HelmError, match=re.escape(complaint)):
        render(values)


def test_the_service_and_ingress_lead_to_the_web_pods() -> None:
    manifests = rendered("everything-on")
    service = one(manifests, "Service", FULLNAME)
    web = one(manifests, "Deployment", f"{FULLNAME}-web")
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}
    ]
    ingress = one(manifests, "Ingress", FULLNAME)
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "fraud.example.com"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": FULLNAME, "port": {"name": "http"}}}


def test_behind_the_ingress_the_app_trusts_the_proxy_headers() -> None:
    web = env(container(rendered("everything-on"), f"{FULLNAME}-web"))
    assert web["NUM_PROXIES"] == "2"
    assert web["SECURE_PROXY_SSL_HEADER"] == "HTTP_X_FORWARDED_PROTO,https"
    assert "fraud.example.com" in web["ALLOWED_HOSTS"].split(",")
    assert "https://fraud.example.com" in web["CSRF_TRUSTED_ORIGINS"].split(",")


def test_without_an_ingress_no_proxy_header_is_trusted() -> None:
    web = env(container(rendered("default"), f"{FULLNAME}-web"))
    assert web["NUM_PROXIES"] == "0"
    assert "SECURE_PROXY_SSL_HEADER" not in web
    # In-cluster callers use the Service's names.
    assert f"{FULLNAME}.{NAMESPACE}.svc.cluster.local" in web["ALLOWED_HOSTS"].split(",")


def test_the_service_monitor_scrapes_metrics_from_the_web_service() -> None:
    manifests = rendered("everything-on")
    monitor = one(manifests, "ServiceMonitor", f"{FULLNAME}-web")
    service = one(manifests, "Service", FULLNAME)
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    assert endpoint["authorization"]["credentials"] == {"name": FULLNAME, "key": "METRICS_TOKEN"}
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


# Worker and beat.


def test_keda_scales_the_worker_on_its_queues_redis_list() -> None:
    manifests = rendered("everything-on")
    scaled = one(manifests, "ScaledObject", f"{FULLNAME}-worker")
    worker = one(manifests, "Deployment", f"{FULLNAME}-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == worker["metadata"]["name"]
    assert scaled["spec"]["minReplicaCount"] == 1
    assert "replicas" not in worker["spec"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    queue = env(container(manifests, f"{FULLNAME}-worker"))["CELERY_QUEUE"]
    assert queue == "fraud-reviews"
    assert trigger["metadata"] == {
        "address": "redis-master.cache:6379",
        "listName": queue,
        "listLength": "50",
        # The database number in REDIS_URL.
        "databaseIndex": "2",
        "enableTLS": "false",
        "passwordFromEnv": "REDIS_PASSWORD",
    }
    assert f"--queues={queue}" in container(manifests, f"{FULLNAME}-worker")["command"]


def test_the_scaled_list_is_where_kombu_keeps_the_queues_messages() -> None:
    from kombu.transport.redis import Channel

    from reviewapp import celery_app

    # The app sends every task at the default priority, which kombu keeps in a list named
    # exactly after the queue (other priorities get a suffix); no key prefix is configured.
    channel = object.__new__(Channel)  # only the key naming is used: no connection
    assert channel._q_for_pri("fraud-reviews", 0) == "fraud-reviews"
    options = celery_app.conf.broker_transport_options
    assert not {"global_keyprefix", "priority_steps", "queue_order_strategy"} & set(options)
    assert celery_app.conf.task_default_priority is None


def test_keda_needs_the_redis_address() -> None:
    values = with_values("everything-on")
    values["worker"]["keda"]["redis"]["address"] = ""
    with pytest.raises(helm.HelmError, match=r"worker\.keda\.redis\.address"):
        render(values)


@pytest.mark.parametrize(("values", "limit"), [("default", 120), ("everything-on", 300)])
def test_the_worker_outlives_its_longest_task(values: str, limit: int) -> None:
    manifests = rendered(values)
    worker = one(manifests, "Deployment", f"{FULLNAME}-worker")
    assert env(container(manifests, f"{FULLNAME}-worker"))["CELERY_TASK_TIME_LIMIT"] == str(limit)
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > limit


def test_a_grace_period_shorter_than_the_task_time_limit_is_refused() -> None:
    with pytest.raises(helm.HelmError, match=r"must be longer than celery\.taskTimeLimit"):
        render(with_values("default", worker__terminationGracePeriodSeconds=120))


def test_beat_runs_alone_and_is_replaced_not_rolled() -> None:
    beat = one(rendered("everything-on"), "Deployment", f"{FULLNAME}-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert beat["spec"]["template"]["spec"]["containers"][0]["command"][:3] == [
        "celery",
        "--app=reviewapp",
        "beat",
    ]


# The migrate hook.


def test_migrations_run_in_a_hook_before_install_and_upgrade() -> None:
    manifests = rendered("default")
    job = one(manifests, "Job", f"{FULLNAME}-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    commands = [line.strip() for line in script.splitlines() if line.startswith("python")]
    assert commands == ["python manage.py migrate --noinput", "python manage.py ensure_model"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # The Secret it reads is a hook too, made first (hooks run before the release's objects).
    secret = one(manifests, "Secret", FULLNAME)
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        annotations["helm.sh/hook-weight"]
    )


def test_the_hook_stops_an_install_that_has_no_database_or_broker_url() -> None:
    script = container(rendered("default"), f"{FULLNAME}-migrate")["args"][0]
    assert ': "${DATABASE_URL:?' in script
    assert ': "${REDIS_URL:?' in script


# Secrets and configuration.


@pytest.mark.parametrize("values", VALUES)
def test_every_container_reads_the_one_secret_through_env_from(values: str) -> None:
    manifests = rendered(values)
    for where, spec in pod_specs(manifests):
        if where.startswith("Pod/"):  # the helm test pod needs nothing
            continue
        for item in spec["containers"]:
            assert item["envFrom"] == [{"secretRef": {"name": FULLNAME}}], where
    assert [m["metadata"]["name"] for m in manifests if m["kind"] == "Secret"] == [FULLNAME]


def test_the_chart_creates_the_secret_from_values_and_generates_secret_key() -> None:
    secret = one(rendered("everything-on"), "Secret", FULLNAME)
    assert set(secret["data"]) == {
        "DATABASE_URL",
        "REDIS_URL",
        "REDIS_PASSWORD",
        "METRICS_TOKEN",
        "SECRET_KEY",
    }


def test_an_existing_secret_is_used_and_none_is_made() -> None:
    manifests = render(
        with_values("everything-on", secret={"existingSecret": "fraud-credentials", "values": {}})
    )
    assert "Secret" not in kinds(manifests)
    assert container(manifests, f"{FULLNAME}-web")["envFrom"] == [
        {"secretRef": {"name": "fraud-credentials"}}
    ]
    monitor = one(manifests, "ServiceMonitor", f"{FULLNAME}-web")
    assert monitor["spec"]["endpoints"][0]["authorization"]["credentials"]["name"] == "fraud-credentials"


def test_the_environment_names_settings_the_app_reads() -> None:
    readers = (ROOT / "reviewapp" / "settings.py").read_text() + (ROOT / "serve.py").read_text()
    names = {
        name
        for _, spec in pod_specs(rendered("everything-on"))
        for item in spec["containers"]
        for name in env(item)
    }
    unread = {name for name in names if f'"{name}"' not in readers} - {"OMP_NUM_THREADS"}
    assert unread == set()


def test_config_env_is_passed_and_wins_over_the_charts_own() -> None:
    web = env(
        container(
            render(
                with_values("everything-on", config__env={"LOG_LEVEL": "DEBUG", "REVIEW_SLA_MINUTES": 45})
            ),
            f"{FULLNAME}-web",
        )
    )
    assert (web["LOG_LEVEL"], web["REVIEW_SLA_MINUTES"]) == ("DEBUG", "45")


def test_pgbouncer_settings_reach_every_process() -> None:
    for name in ("web", "worker", "beat", "migrate"):
        process = env(container(rendered("everything-on"), f"{FULLNAME}-{name}"))
        assert (process["DATABASE_PREPARED_STATEMENTS"], process["DATABASE_CONN_MAX_AGE"]) == ("0", "0"), name


# Security.


@pytest.mark.parametrize("values", VALUES)
def test_every_pod_runs_as_a_numeric_non_root_user_on_a_read_only_root(values: str) -> None:
    for where, spec in pod_specs(rendered(values)):
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True, where
        for key in ("runAsUser", "runAsGroup"):
            assert isinstance(security[key], int) and security[key] > 0, where
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        for item in spec["containers"]:
            assert item["securityContext"] == {
                "runAsNonRoot": True,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }, where


def test_the_pods_user_is_the_images_user() -> None:
    (user,) = re.findall(r"^USER (\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    security = one(rendered("default"), "Deployment", f"{FULLNAME}-web")["spec"]["template"]["spec"][
        "securityContext"
    ]
    assert user == f"{security['runAsUser']}:{security['runAsGroup']}" == "10001:10001"


def test_what_the_app_writes_goes_to_empty_dirs() -> None:
    manifests = rendered("default")
    for where, spec in pod_specs(manifests):
        empty_dirs = {volume["name"] for volume in spec.get("volumes", []) if "emptyDir" in volume}
        for item in spec["containers"]:
            mounts = {mount["mountPath"]: mount["name"] for mount in item.get("volumeMounts", [])}
            if where.startswith("Pod/"):
                assert mounts == {}, where
                continue
            assert mounts["/tmp"] in empty_dirs, where
            process = env(item)
            for writable in ("DATA_DIR", "MODEL_ARTIFACT_DIR", "PROMETHEUS_MULTIPROC_DIR"):
                if writable in process:
                    mount = next(path for path in mounts if (process[writable] + "/").startswith(path + "/"))
                    assert mounts[mount] in empty_dirs, (where, writable)
    web = container(manifests, f"{FULLNAME}-web")
    assert env(web)["PROMETHEUS_MULTIPROC_DIR"] == "/run/prometheus"


# values.schema.json.


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"web": {"replicas": "two"}}, "/web/replicas"),
        ({"podSecurityContext": {"runAsUser": "app"}}, "/podSecurityContext/runAsUser"),
        ({"podSecurityContext": {"runAsUser": 0}}, "/podSecurityContext/runAsUser"),
        ({"worker": {"keda": {"minReplicaCount": 0}}}, "/worker/keda/minReplicaCount"),
        ({"worker": {"keda": {"redis": {"address": "redis://redis:6379/0"}}}}, "/worker/keda/redis/address"),
        (
            {
                "ingress": {
                    "hosts": [{"host": "a.example.com", "paths": [{"path": "api", "pathType": "Prefix"}]}]
                }
            },
            "/ingress/hosts/0/paths/0/path",
        ),
        ({"secret": {"values": {"SECRET_KEY": 12345}}}, "/secret/values/SECRET_KEY"),
        ({"replicaCount": 3}, "replicaCount"),
    ],
)
def test_the_values_schema_refuses_bad_values(change: dict[str, Any], complaint: str) -> None:
    with (
        helm.Chart.load(str(CHART)) as chart,
        pytest.raises(helm.HelmValuesError, match=re.escape(complaint)),
    ):
        chart.validate_schema(change)
    with pytest.raises(helm.HelmError):
        render(change)
