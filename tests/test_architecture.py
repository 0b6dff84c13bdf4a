"""The house rules that a linter cannot see: tasks are named after the services they call, and
everything beat schedules is a registered task."""

import importlib
import json

import pytest

from reviewapp import celery_app

APPS = ("audit", "predictions", "reviews", "lifecycle", "monitoring")


def _project_tasks() -> dict[str, object]:
    celery_app.loader.import_default_modules()
    return {name: task for name, task in celery_app.tasks.items() if name.split(".")[0] in APPS}


def test_the_project_has_tasks_in_every_layer():
    apps_with_tasks = {name.split(".")[0] for name in _project_tasks()}

    assert apps_with_tasks == set(APPS)


@pytest.mark.parametrize("name", sorted(_project_tasks()))
def test_each_task_is_named_after_the_service_it_adapts(name):
    app, module, function = name.split(".")
    services = importlib.import_module(f"{app}.services")

    assert module == "tasks"
    assert callable(getattr(services, function, None)), f"{name} adapts no {app}.services.{function}"


def test_beat_schedules_only_registered_tasks():
    scheduled = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}

    assert scheduled <= set(_project_tasks())


def test_a_web_process_with_every_view_loaded_imports_no_heavy_library():
    # The web workers' memory (~120 MiB each, bench/README.md) depends on it: SciPy alone is
    # ~50 MiB. Training, retraining and the drift report import them where they run.

    program = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
from reviewapp.wsgi import application
def walk(patterns):
    for entry in patterns:
        getattr(entry, "callback", None)
        walk(getattr(entry, "url_patterns", []))
walk(get_resolver().url_patterns)
print(json.dumps(sorted({"shap", "numba", "llvmlite", "sklearn", "pandas", "scipy"} & set(sys.modules))))
"""
    assert json.loads(_in_a_web_process(program)) == []


def test_a_web_process_finds_the_tasks_it_sends_by_name():
    # The scoring path sends them from Celery's registry, filled only with the task modules a
    # process imported: each app's ready() imports its own (a KeyError there would leave every
    # prediction to the sweepers).
    program = """
import json
import django
django.setup()
from celery import current_app
from predictions import services
print(json.dumps([name in current_app.tasks for name in (services.ROUTING_TASK, services.SHADOW_TASK)]))
"""
    assert json.loads(_in_a_web_process(program)) == [True, True]


def _in_a_web_process(program: str) -> str:
    """What `program` printed last, run in a new interpreter as a web worker starts."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings", "SECRET_KEY": "x" * 50}
    output = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, env=env
    ).stdout
    return output.strip().splitlines()[-1]
