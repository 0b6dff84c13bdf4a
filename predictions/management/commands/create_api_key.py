from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from django.utils import timezone

from predictions import services
from predictions.models import ApiKey
from reviews.audit import cli_actor


class Command(BaseCommand):
    help = "Create an API key for an upstream system and print it (once: only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Refuse the key after this many days"
        )

    def handle(self, *args, name, expires_in_days, **options):
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1")
        try:
            api_key, secret = services.api_key_create(name=name, actor=cli_actor())
        except IntegrityError:
            raise CommandError(f"an API key named {name!r} already exists") from None
        if expires_in_days is not None:
            expires_at = timezone.now() + timedelta(days=expires_in_days)
            ApiKey.objects.filter(pk=api_key.pk).update(expires_at=expires_at)
        self.stdout.write(secret)
