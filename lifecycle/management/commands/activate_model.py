from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import cli_actor
from predictions import services
from predictions.models import ModelVersion
from predictions.scoring import ArtifactError


class Command(BaseCommand):
    help = "Activate a registered model version; activating an older one is the rollback."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", type=int)

    def handle(self, *args: Any, version: int, **options: Any) -> None:
        try:
            activated = services.model_version_activate(version=version, actor=cli_actor())
        except ModelVersion.DoesNotExist:
            raise CommandError(f"no model version {version}") from None
        except ArtifactError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"activated {activated}"))
