from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import cli_actor
from outcomes import services
from outcomes.imports import UnreadableFile, csv_rows, text_stream


class Command(BaseCommand):
    help = (
        "Import outcomes from a CSV file with the columns request_id,label,source,occurred_at,reference. "
        "Good rows are stored, bad rows printed with their line number; read and stored a chunk at a time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file, with a header row; UTF-8")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        def report(bad: services.BadRow) -> None:
            self.stderr.write(f"line {bad.line}: {bad.reason}")

        try:
            with file.open("rb") as binary:
                stream = text_stream(binary)
                summary = services.outcomes_import(
                    rows=csv_rows(stream), actor=cli_actor(), on_bad_row=report
                )
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror or error}") from None
        except UnreadableFile as error:
            raise CommandError(f"{file}: {error.errors['detail']}") from None
        self.stdout.write(f"{summary.stored} stored, {summary.unchanged} unchanged, {summary.bad} bad rows")
