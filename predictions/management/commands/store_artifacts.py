from typing import Any

from django.core.management.base import BaseCommand

from predictions import services


class Command(BaseCommand):
    help = (
        "Copy into the database the artifacts that are still only files under MODEL_ARTIFACT_DIR "
        "(versions registered before the database held artifacts); safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        found = services.model_artifacts_store_files()
        if not found:
            self.stdout.write("every model version's artifact is in the database; nothing to do")
        for version, what in found.items():
            line = f"v{version}: {what.label}"
            stored = what == services.ArtifactFile.STORED
            self.stdout.write(self.style.SUCCESS(line) if stored else self.style.WARNING(line))
