"""The checks /readyz requires after the database: each app adds its own.

A check is a function that returns details to report (a dict) or raises when the process is
not ready. Apps add theirs from their AppConfig.ready, so the order is INSTALLED_APPS order.
Add only what a web process cannot serve without: /readyz failing takes the process out of the
load balancer (the broker, which scoring does without, is reported by the view, not required).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Probe = Callable[[], dict[str, Any]]

_checks: dict[str, Probe] = {}


def readiness_check_add(*, name: str, probe: Probe) -> None:
    _checks.setdefault(name, probe)


def readiness_checks() -> dict[str, Probe]:
    return dict(_checks)
