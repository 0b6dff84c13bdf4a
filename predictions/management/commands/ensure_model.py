from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from predictions import registry, selectors
from predictions.scoring import ArtifactError


class Command(BaseCommand):
    help = "Train and activate the demo model unless one is active; safe to run on every deploy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000, help="Demo rows, if training is needed")

    def handle(self, *args: Any, rows: int, **options: Any) -> None:
        active = selectors.model_version_active()
        if active is None:
            call_command("train_model", rows=rows, activate=True, stdout=self.stdout)
            return
        # A lost or altered artifact must stop the deploy here, not fail every request later.
        try:
            registry.load_version(active)
        except ArtifactError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{active} is active and its artifact verifies; nothing to do")
