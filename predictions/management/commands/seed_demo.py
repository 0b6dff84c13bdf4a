import secrets
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import cli_actor
from predictions import selectors, services, training
from predictions.models import ApiKey, Prediction
from reviewapp.demo import DEMO_GROUP, DEMO_KEY_NAME, demo_enabled
from reviewapp.roles import ADMIN, ROLES


class Command(BaseCommand):
    help = "Demo mode only: a model, users analyst/auditor/admin, an API key and scored traffic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transactions", type=int, default=500)
        parser.add_argument("--training-rows", type=int, default=60_000)

    def handle(self, *args: Any, transactions: int, training_rows: int, **options: Any) -> None:
        if not demo_enabled():
            raise CommandError(
                "seed_demo runs only with DEBUG=1 and DEMO_MODE=1: demo users have known roles"
            )
        if selectors.model_version_active() is None:
            call_command("train_model", rows=training_rows, activate=True, stdout=self.stdout)
        self._users()
        api_key = self._api_key()
        self._traffic(api_key, transactions)

    def _users(self) -> None:
        demo, _ = Group.objects.get_or_create(name=DEMO_GROUP)
        for role in ROLES:
            group, _ = Group.objects.get_or_create(name=role)
            if User.objects.filter(username=role).exists():
                continue
            password = secrets.token_urlsafe(9)
            user = User.objects.create_user(
                role, password=password, is_staff=role == ADMIN, is_superuser=role == ADMIN
            )
            user.groups.add(group, demo)
            self.stdout.write(self.style.SUCCESS(f"demo user {role:<8} password {password}  (shown once)"))

    def _api_key(self) -> ApiKey:
        api_key = ApiKey.objects.filter(name=DEMO_KEY_NAME).first()
        if api_key is None:
            api_key, secret = services.api_key_create(name=DEMO_KEY_NAME, actor=cli_actor())
        else:
            secret = services.api_key_rotate(api_key=api_key, actor=cli_actor())
        self.stdout.write(self.style.SUCCESS(f"demo API key: {secret}"))
        return api_key

    def _traffic(self, api_key: ApiKey, count: int) -> None:
        missing = count - Prediction.objects.filter(request_id__startswith="demo-").count()
        if missing <= 0:
            return
        active = selectors.model_version_active()
        if active is None:  # trained in handle() before the traffic
            raise CommandError("no model version is active")
        schema = active.feature_schema
        frame = training.generate_transactions(rows=count, seed=2026)
        items = [
            {"request_id": f"demo-{i:05d}", "features": features}
            for i, features in enumerate(training.frame_to_records(frame, schema))
        ]
        _, created = services.predictions_create_batch(api_key=api_key, items=items)
        queued = sum(p.routing == Prediction.Routing.REVIEW for p in created)
        self.stdout.write(f"scored {len(created)} demo transactions, {queued} sent to review")
