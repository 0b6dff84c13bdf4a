from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lifecycle import selectors, services
from lifecycle.models import ShadowScore
from predictions import selectors as prediction_selectors
from predictions import services as prediction_services
from predictions import training
from predictions.models import ModelVersion
from reviewapp.demo import demo_enabled

SOURCE = "demo challenger"  # training_info["source"]: how a second run finds the version


class Command(BaseCommand):
    help = (
        "Demo mode only: register a second version (other data, other seed) that shadows the "
        "active one, backfilled over the seeded history, so the comparison page has figures."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # Fewer rows than the active model: quick to train (~2 s here), and visibly different.
        parser.add_argument("--rows", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--backfill-days", type=int, default=70, help="Past traffic to score")

    def handle(self, *args: Any, rows: int, seed: int, backfill_days: int, **options: Any) -> None:
        if not demo_enabled():
            raise CommandError("seed_demo_challenger runs only with DEBUG=1 and DEMO_MODE=1")
        active = prediction_selectors.model_version_active()
        if active is None:
            raise CommandError("run seed_demo first: it trains and activates the demo model")
        challenger = ModelVersion.objects.filter(training_info__source=SOURCE).order_by("-version").first()
        if challenger is None:
            frame = training.generate_transactions(rows=rows, seed=seed)
            result = training.train(
                frame=frame,
                schema=training.DEMO_SCHEMA,
                target="is_fraud",
                review_threshold=active.review_threshold,
                seed=seed,
            )
            challenger = prediction_services.model_version_register(
                name=active.name,
                result=result,
                training_info={"source": SOURCE, "rows": rows, "seed": seed},
                created_by="demo",
            )
            self.stdout.write(f"registered {challenger}")
        if challenger.status == ModelVersion.Status.ACTIVE:
            self.stdout.write(f"{challenger} is active (promoted by hand); nothing to do")
            return
        open_period = selectors.shadow_period_open()
        if open_period is not None and open_period.model_version_id != challenger.pk:
            self.stdout.write(f"v{open_period.model_version.version} is shadowing; left as it is")
            return
        since = timezone.now() - timedelta(days=backfill_days)
        # Idempotent: starting it again only backfills what it has not scored yet.
        services.shadow_start(
            version=challenger.version, actor="demo", backfill_since=since, backfill_in_background=False
        )
        scored = ShadowScore.objects.filter(model_version=challenger).count()
        self.stdout.write(f"v{challenger.version} shadows v{active.version}: {scored} predictions scored")
