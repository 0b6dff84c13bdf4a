from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from predictions import services


class Command(BaseCommand):
    help = "Re-enqueue predictions waiting too long for routing into the review queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, help="Seconds (default ROUTING_SWEEP_AFTER_SECONDS)")

    def handle(self, *args: Any, older_than: int | None, **options: Any) -> None:
        count = services.routing_sweep(older_than_seconds=older_than)
        self.stdout.write(f"re-enqueued {count} predictions")
