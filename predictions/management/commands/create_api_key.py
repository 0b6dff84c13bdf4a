from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from predictions import services
from reviews.audit import cli_actor


class Command(BaseCommand):
    help = "Create an API key for an upstream system and print it (once: only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        try:
            _, secret = services.api_key_create(name=name, actor=cli_actor())
        except IntegrityError:
            raise CommandError(f"an API key named {name!r} already exists") from None
        self.stdout.write(secret)
