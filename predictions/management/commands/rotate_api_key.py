from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import cli_actor
from predictions import services
from predictions.models import ApiKey


class Command(BaseCommand):
    help = "Give an API key a new secret and print it (once); the old secret stops working."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        api_key = ApiKey.objects.filter(name=name, revoked_at__isnull=True).first()
        if api_key is None:
            raise CommandError(f"no live API key named {name!r}")
        self.stdout.write(services.api_key_rotate(api_key=api_key, actor=cli_actor()))
