"""Crontab strings in settings, written as cron writes them, checked when settings load.

A typo in a schedule must stop start-up with the setting's name, not skip the schedule or
surface later inside beat. settings.py checks the string with `env_crontab`; reviewapp/celery.py
builds beat's entry from it with `crontab_from`.
"""

from __future__ import annotations

import os

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

FIELDS = "minute hour day-of-month month day-of-week"


def crontab_from(name: str, value: str) -> crontab:
    """The crontab `value` ("minute hour day-of-month month day-of-week") stands for, or
    ImproperlyConfigured naming the setting `name`."""
    fields = value.split()
    if len(fields) != 5:
        raise ImproperlyConfigured(f"{name} must be a crontab of 5 fields ({FIELDS}), got {value!r}")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except ValueError as error:
        raise ImproperlyConfigured(
            f"{name} is not a valid crontab ({FIELDS}), got {value!r}: {error}"
        ) from None


def env_crontab(name: str, default: str = "") -> str:
    """A crontab string from the environment, checked; empty (the default) means off."""
    value = " ".join(os.environ.get(name, default).split())
    if value:
        crontab_from(name, value)
    return value
