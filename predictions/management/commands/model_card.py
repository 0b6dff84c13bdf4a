from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from predictions import model_card
from predictions.models import ModelVersion


class Command(BaseCommand):
    help = "Render the Markdown model card of a registered model version, to stdout or a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", type=int)
        parser.add_argument("--output", type=Path, help="Write the card here instead of stdout")

    def handle(self, *args: Any, version: int, output: Path | None, **options: Any) -> None:
        try:
            registered = ModelVersion.objects.get(version=version)
        except ModelVersion.DoesNotExist:
            raise CommandError(f"no model version {version}") from None
        card = model_card.render(registered)
        if output is None:
            self.stdout.write(card, ending="")
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(card, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"wrote the model card of v{version} to {output}"))
