from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.utils import timezone

from audit.actors import cli_actor
from predictions import services


class Command(BaseCommand):
    help = "Create an API key for an upstream system and print it (once: only its hash is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Refuse the key after this many days"
        )
        parser.add_argument(
            "--rate-limit", default="", help="e.g. 20000/min; default: the API_RATE_LIMIT setting"
        )

    def handle(
        self, *args: Any, name: str, expires_in_days: int | None, rate_limit: str, **options: Any
    ) -> None:
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            _, secret = services.api_key_create(
                name=name, expires_at=expires_at, rate_limit=rate_limit, actor=cli_actor()
            )
        except IntegrityError:
            raise CommandError(f"an API key named {name!r} already exists") from None
        except services.InvalidInput as error:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in error.errors.items())) from None
        self.stdout.write(secret)
