"""What the monitoring app does when the project tells it something happened."""

from typing import Any

from django.dispatch import receiver

from monitoring import recorder
from reviewapp.signals import web_process_started


@receiver(web_process_started)
def latency_recorder_start(**_: Any) -> None:
    # Each web process stores its request-latency histograms once a minute, for the monitoring
    # page's latency over time (a thread of its own, off the request path).
    recorder.start()
