import secrets
import sys
from typing import IO, Any

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from audit.actors import cli_actor
from audit.services import user_roles, user_roles_change_record
from reviewapp.roles import ADMIN, ROLES


class Command(BaseCommand):
    help = (
        "Create a person with one role (analyst, auditor or admin) and print a generated password "
        "once, or read the password from standard input. Audited as user.role_changed."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of standard input instead of generating one",
        )
        parser.add_argument(
            "--update",
            action="store_true",
            help=(
                "If the user exists, give them this role in place of their others (and the email, "
                "if given); the password changes only with --password-stdin"
            ),
        )

    def handle(
        self,
        *args: Any,
        username: str,
        role: str,
        email: str,
        password_stdin: bool,
        update: bool,
        **options: Any,
    ) -> None:
        password = _line(options.get("stdin") or sys.stdin) if password_stdin else None
        with transaction.atomic():
            group = Group.objects.filter(name=role).first()
            if group is None:
                raise CommandError(
                    f"there is no {role!r} group: `manage.py migrate` creates the role groups "
                    "(monitoring 0006); recreate it in /admin/ if it was deleted"
                )
            user = User.objects.select_for_update().filter(username=username).first()
            if user is not None and not update:
                raise CommandError(f"user {username!r} exists; --update gives them the {role} role")
            created, generated = user is None, None
            before = None if user is None else user_roles(user)
            if user is None:
                user = User(username=_checked_username(username))
            if email:
                user.email = _checked_email(email)
            user.is_staff = role == ADMIN  # /admin/ is for admins; the role's pages check the group
            if password is not None:
                _check_password(password, user)
                user.set_password(password)
            elif created:
                generated = secrets.token_urlsafe(12)
                user.set_password(generated)
            user.save()
            user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(pk=group.pk))
            user.groups.add(group)
            user_roles_change_record(
                user_id=user.pk, actor=cli_actor(), before=before, after=user_roles(user)
            )
        self.stdout.write(f"{'created' if created else 'updated'} {role} {username}")
        if generated is not None:
            self.stdout.write(f"password (shown once): {generated}")


def _line(stdin: IO[str]) -> str:
    password = stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("--password-stdin: no password on the first line of standard input")
    return password


def _checked_username(username: str) -> str:
    try:
        User._meta.get_field("username").clean(username, None)
    except ValidationError as error:
        raise CommandError(f"username {username!r}: {' '.join(error.messages)}") from None
    return username


def _checked_email(email: str) -> str:
    try:
        validate_email(email)
    except ValidationError:
        raise CommandError(f"--email {email!r} is not an email address") from None
    return User.objects.normalize_email(email)


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise CommandError(f"password refused: {' '.join(error.messages)}") from None
