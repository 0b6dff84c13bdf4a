"""Celery adapters for the review queue."""

from celery import shared_task

from reviews import services
from reviews.models import CallbackDelivery


@shared_task(time_limit=60, soft_time_limit=50)
def deliver_callback(delivery_id: int) -> str:
    delivery = services.callback_deliver(delivery_id=delivery_id)
    if delivery.state == CallbackDelivery.State.PENDING and not deliver_callback.app.conf.task_always_eager:
        services.enqueue_callback(
            delivery_id=delivery_id, countdown=services.backoff_seconds(delivery.attempts)
        )
    return delivery.state


@shared_task(time_limit=120, soft_time_limit=100)
def enqueue_due_callbacks() -> int:
    return services.callbacks_enqueue_due()


@shared_task(time_limit=60, soft_time_limit=50)
def expire_review_leases() -> int:
    return services.review_leases_expire()
