from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.selectors import audit_chain_verify
from audit.services import audit_chain_extend


class Command(BaseCommand):
    help = (
        "Link pending events and predictions into the audit hash chain, then walk the chain and "
        "count the rows it covers; exit non-zero naming the first broken link, or the rows missing. "
        "Prints the head hash, to keep outside the database."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--no-link", action="store_true", help="Verify only; link nothing first")

    def handle(self, *args: Any, no_link: bool, **options: Any) -> None:
        if not no_link:
            audit_chain_extend()
        report = audit_chain_verify()
        if report.broken_seq is None and report.problem:
            raise CommandError(f"audit log incomplete: {report.problem} ({report.checked} events verified)")
        if not report.ok:
            raise CommandError(
                f"audit log broken at event #{report.broken_seq}: {report.problem} "
                f"({report.checked} events verified before it)"
            )
        self.stdout.write(f"verified {report.checked} events ({report.unlinked} not linked yet)")
        self.stdout.write(f"head hash: {report.head_hash}")
