"""The challenger's work has a queue of its own, so routing never waits behind it."""

import pytest

from reviewapp import celery_app
from reviewapp.celery import shadow_queue


def queue_of(task_name: str) -> str:
    return celery_app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize(
    "task",
    [
        "lifecycle.tasks.shadow_scores_create",
        "lifecycle.tasks.shadow_backfill",
        "lifecycle.tasks.shadow_sweep",
    ],
)
def test_shadow_work_goes_to_the_shadow_queue(task):
    assert queue_of(task) == f"{celery_app.conf.task_default_queue}.shadow"


@pytest.mark.parametrize(
    "task",
    ["reviews.tasks.review_items_route", "reviews.tasks.callback_deliver", "lifecycle.tasks.model_retrain"],
)
def test_everything_else_stays_on_the_default_queue(task):
    assert queue_of(task) == celery_app.conf.task_default_queue


def test_the_shadow_queue_follows_the_default_queue(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_default_queue", "tests-1234")

    assert (
        queue_of("lifecycle.tasks.shadow_scores_create") == shadow_queue("tests-1234") == "tests-1234.shadow"
    )
