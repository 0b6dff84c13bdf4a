from django.core.management.base import BaseCommand, CommandError

from reviews.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Walk the audit hash chain; exit non-zero naming the first broken event. Prints the head hash."

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(
                f"audit log broken at event #{report.broken_seq}: {report.problem} "
                f"({report.checked} events verified before it)"
            )
        self.stdout.write(f"verified {report.checked} events")
        self.stdout.write(f"head hash: {report.head_hash}")
