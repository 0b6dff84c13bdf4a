from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.actors import cli_actor
from lifecycle import services
from predictions.scoring import ArtifactError
from reviewapp.errors import DomainError


class Command(BaseCommand):
    help = (
        "Make VERSION the challenger: it scores every live prediction beside the active model, "
        "off the hot path (--backfill-days N also scores the last N days). --stop ends shadowing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", type=int, nargs="?")
        parser.add_argument("--backfill-days", type=float, default=None, metavar="N")
        parser.add_argument("--stop", action="store_true", help="stop shadowing (no VERSION)")

    def handle(
        self, *args: Any, version: int | None, backfill_days: float | None, stop: bool, **options: Any
    ) -> None:
        if stop == (version is not None):
            raise CommandError("give a VERSION to shadow, or --stop")
        if backfill_days is not None and backfill_days <= 0:
            raise CommandError("--backfill-days must be positive")
        try:
            if stop:
                period = services.shadow_stop(actor=cli_actor())
                self.stdout.write(self.style.SUCCESS(f"v{period.model_version.version} stopped shadowing"))
                return
            assert version is not None
            since = timezone.now() - timedelta(days=backfill_days) if backfill_days else None
            period = services.shadow_start(
                version=version, actor=cli_actor(), backfill_since=since, backfill_in_background=False
            )
        except (DomainError, ArtifactError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"v{period.model_version.version} shadows v{period.active_version.version}"
                + (f", backfilled over {backfill_days:g} days" if since else "")
            )
        )
