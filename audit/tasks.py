"""Celery adapters for the audit log, named after the services they call."""

from celery import shared_task

from audit import services


@shared_task(time_limit=120, soft_time_limit=100)
def audit_chain_extend() -> int:
    return services.audit_chain_extend()
