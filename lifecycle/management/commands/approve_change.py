from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import actor_name
from lifecycle import approval_selectors, approvals
from lifecycle.models import ChangeProposal
from reviewapp.errors import DomainError


class Command(BaseCommand):
    help = (
        "Four eyes from the command line: --list the pending changes, or approve (apply) one, "
        "--reject it or --withdraw your own, as a named admin (--as USERNAME). The admin who "
        "proposed a change cannot approve it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("proposal", type=int, nargs="?", help="The change's number (see --list)")
        parser.add_argument("--list", action="store_true", help="List the pending changes")
        parser.add_argument("--as", dest="username", help="The admin deciding (required to decide)")
        decision = parser.add_mutually_exclusive_group()
        decision.add_argument("--reject", action="store_true", help="Turn it down instead")
        decision.add_argument("--withdraw", action="store_true", help="Take back a change you proposed")
        parser.add_argument("--note", default="", help="With --reject: why")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"] or options["proposal"] is None:
            self._list()
            return
        if not options["username"]:
            raise CommandError("--as USERNAME: four eyes compares people, so name the admin deciding")
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        actor, pk = actor_name(user=user), options["proposal"]
        try:
            if options["reject"]:
                proposal = approvals.change_reject(
                    proposal_id=pk, actor=actor, user=user, note=options["note"]
                )
            elif options["withdraw"]:
                proposal = approvals.change_withdraw(proposal_id=pk, actor=actor, user=user)
            else:
                proposal = approvals.change_approve(proposal_id=pk, actor=actor, user=user)
        except DomainError as error:
            raise CommandError(approvals.error_message(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"change #{proposal.pk}: {approval_selectors.change_summary(proposal)}: {proposal.status}"
            )
        )

    def _list(self) -> None:
        pending = approval_selectors.change_proposals(status=ChangeProposal.Status.PENDING)
        if not pending:
            self.stdout.write("no pending changes")
        for proposal in pending:
            self.stdout.write(
                f"#{proposal.pk}  {approval_selectors.change_summary(proposal)}  "
                f"proposed by {proposal.proposed_by} "
                f"at {proposal.proposed_at:%Y-%m-%d %H:%M} UTC"
                + (f"  forced: {proposal.reason}" if proposal.force else "")
            )
