from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import actor_name, cli_actor
from lifecycle import approvals
from lifecycle.selectors import UnknownVersion
from reviewapp.errors import DomainError
from reviewapp.roles import ADMIN, has_role


class Command(BaseCommand):
    help = (
        "Activate a registered model version through the promotion gate (docs/lifecycle.md): a "
        "version that shadowed and is no worse than the active one on labelled predictions, or "
        "an earlier version (the rollback, always allowed). --force --reason overrides a refusal, "
        "audited. With REQUIRE_SECOND_APPROVER on it proposes the activation (--as an admin)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", type=int)
        parser.add_argument("--force", action="store_true", help="Activate although the gate refuses it")
        parser.add_argument("--reason", default="", help="Why the gate is overridden (required with --force)")
        parser.add_argument(
            "--as",
            dest="username",
            help="The admin doing it (required with REQUIRE_SECOND_APPROVER, so another one approves)",
        )

    def handle(
        self, *args: Any, version: int, force: bool, reason: str, username: str | None, **options: Any
    ) -> None:
        user = _admin(username) if username else None
        actor = actor_name(user=user) if user else cli_actor()
        try:
            result = approvals.model_version_promote(
                version=version, actor=actor, user=user, force=force, reason=reason
            )
        except approvals.PromotionRefused as refused:
            for line in refused.gate.reasons:
                self.stderr.write(f"  {line}")
            raise CommandError(
                f"v{version} was not activated: the promotion gate refused it; "
                "--force --reason TEXT overrides it (audited)"
            ) from None
        except UnknownVersion:
            raise CommandError(f"no model version {version}") from None
        except DomainError as error:
            raise CommandError(approvals.error_message(error)) from None
        if result.proposal is not None:
            self.stdout.write(
                self.style.WARNING(
                    f"proposed as change #{result.proposal.pk}: v{version} is activated once another "
                    f"admin approves it (manage.py approve_change {result.proposal.pk} --as USERNAME)"
                )
            )
            return
        for line in result.gate.reasons:
            self.stdout.write(f"  {line}")
        forced = " (forced past the promotion gate)" if result.forced else ""
        self.stdout.write(self.style.SUCCESS(f"activated {result.version}{forced}"))


def _admin(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user {username!r}")
    if not has_role(user, ADMIN):
        raise CommandError(f"{username} is not an admin: only admins activate versions")
    return user
