"""Celery adapters for the review queue, named after the services they call."""

from celery import shared_task

from reviews import services
from reviews.models import CallbackDelivery


# predictions sends this task by name (predictions.services.ROUTING_TASK): keep the two in step.
@shared_task(
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=10,
    time_limit=60,
    soft_time_limit=50,
)
def review_items_route(prediction_ids: list[int]) -> int:
    return services.review_items_route(prediction_ids=prediction_ids)


@shared_task(time_limit=60, soft_time_limit=50)
def callback_deliver(delivery_id: int) -> str:
    delivery = services.callback_deliver(delivery_id=delivery_id)
    if delivery.state == CallbackDelivery.State.PENDING and not callback_deliver.app.conf.task_always_eager:
        services.callback_enqueue(
            delivery_id=delivery_id, countdown=services.backoff_seconds(delivery.attempts)
        )
    return delivery.state


@shared_task(time_limit=120, soft_time_limit=100)
def callbacks_enqueue_due() -> int:
    return services.callbacks_enqueue_due()


@shared_task(time_limit=60, soft_time_limit=50)
def review_leases_expire() -> int:
    return services.review_leases_expire()
