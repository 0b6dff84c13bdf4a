"""Demo mode only: weeks of past traffic, analysts' decisions on it and outcomes arriving late.

`make run` calls it after `seed_demo`, so /quality/ shows real figures on first start. The
history is written through the same services production uses (scoring, claims, decisions,
outcome reports), each step at the time it would have happened: the command sets Django's
clock back for each one. Nothing outside this demo command ever moves the clock.

The transactions come from the training data's generator, which knows which are fraud; the
demo analysts are right most of the time, each at their own rate and speed, and outcomes
arrive the way they do in card payments: chargebacks for most fraud weeks later, customer
confirmations for some legitimate traffic within days, nothing yet for the recent weeks.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import numpy as np
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from outcomes import services
from outcomes.models import Outcome
from predictions import selectors as prediction_selectors
from predictions import services as prediction_services
from predictions import training
from predictions.models import ApiKey, Prediction
from reviewapp.demo import DEMO_GROUP, DEMO_KEY_NAME, demo_enabled
from reviewapp.roles import ANALYST
from reviews import selectors as review_selectors
from reviews import services as review_services
from reviews.models import Decision, ReviewItem

REQUEST_PREFIX = "past-"  # not "demo-": seed_demo counts those as its own traffic


@dataclass(frozen=True)
class DemoAnalyst:
    """Analysts err unevenly: a call to the cardholder clears a genuine customer almost always,
    while fraud that looks ordinary gets past them more often."""

    username: str
    right_on_legit: float
    right_on_fraud: float
    median_seconds: float  # their typical handling time


ANALYSTS = (
    DemoAnalyst("analyst", right_on_legit=0.985, right_on_fraud=0.85, median_seconds=70),  # the demo login
    DemoAnalyst("ana.lopez", right_on_legit=0.995, right_on_fraud=0.92, median_seconds=110),
    DemoAnalyst("ben.okafor", right_on_legit=0.96, right_on_fraud=0.78, median_seconds=45),
)


class _Clock:
    """Django's clock, set by the command: timezone.now() answers whatever it was set to."""

    def __init__(self) -> None:
        self.at = timezone.now()

    def now(self) -> datetime:
        return self.at


@contextlib.contextmanager
def _clock_set_back() -> Iterator[_Clock]:
    clock = _Clock()
    with mock.patch("django.utils.timezone.now", clock.now):
        yield clock


class Command(BaseCommand):
    help = "Demo mode only: past traffic with decisions and late outcomes, for the quality scorecard."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=56, help="How far back the history starts")
        parser.add_argument("--per-day", type=int, default=120, help="Transactions scored each day")
        parser.add_argument("--seed", type=int, default=2027)

    def handle(self, *args: Any, days: int, per_day: int, seed: int, **options: Any) -> None:
        if not demo_enabled():
            raise CommandError("seed_demo_history runs only with DEBUG=1 and DEMO_MODE=1")
        if Prediction.objects.filter(request_id__startswith=REQUEST_PREFIX).exists():
            return
        version = prediction_selectors.model_version_active()
        api_key = ApiKey.objects.filter(name=DEMO_KEY_NAME).first()
        if version is None or api_key is None:
            raise CommandError("run seed_demo first: it trains the demo model and creates the demo key")
        rng = np.random.default_rng(seed)
        analysts = [(self._analyst(a.username), a) for a in ANALYSTS]
        frame = training.generate_transactions(rows=days * per_day, seed=seed)
        records = training.frame_to_records(frame, version.feature_schema)
        request_ids = [f"{REQUEST_PREFIX}{i:06d}" for i in range(len(records))]
        truth = dict(zip(request_ids, map(bool, frame["is_fraud"]), strict=True))
        today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        arrivals: dict[int, list[services.OutcomeReport]] = defaultdict(list)
        decisions = 0
        with _clock_set_back() as clock:
            for day in range(days):
                start = today - timedelta(days=days - day)
                chunk = records[day * per_day : (day + 1) * per_day]
                ids = request_ids[day * per_day : (day + 1) * per_day]
                clock.at = start + timedelta(hours=9)
                created, _ = prediction_services.predictions_create_batch(
                    api_key=api_key,
                    items=[{"request_id": i, "features": f} for i, f in zip(ids, chunk, strict=True)],
                )
                clock.at = start + timedelta(hours=10)
                decisions += self._decide_queue(clock, rng, analysts, truth)
                for prediction in created:
                    self._plan_outcome(prediction, truth[prediction.request_id], day, rng, arrivals)
                clock.at = start + timedelta(hours=18)
                if arrivals.get(day):
                    services.outcomes_record_batch(
                        api_key=api_key, actor="api_key:demo", reports=arrivals[day]
                    )
        self.stdout.write(
            f"demo history: {days * per_day} transactions over {days} days, {decisions} decisions, "
            f"{Outcome.objects.count()} outcomes so far"
        )

    def _analyst(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:  # the colleagues exist only as reviewers of the past: no password
            user = User.objects.create_user(username)
            user.set_unusable_password()
            user.save(update_fields=["password"])
        group, _ = Group.objects.get_or_create(name=ANALYST)
        demo, _ = Group.objects.get_or_create(name=DEMO_GROUP)
        user.groups.add(group, demo)
        return user

    def _decide_queue(
        self,
        clock: _Clock,
        rng: np.random.Generator,
        analysts: list[tuple[User, DemoAnalyst]],
        truth: dict[str, bool],
    ) -> int:
        """The day's queue, worked through by the analysts in turn, each at their own pace."""
        items = ReviewItem.objects.filter(
            state=ReviewItem.State.PENDING, prediction__request_id__startswith=REQUEST_PREFIX
        ).select_related("prediction__explanation", "prediction__model_version")
        decided = 0
        for n, item in enumerate(items):
            user, analyst = analysts[n % len(analysts)]
            review_services.review_item_claim(item_id=item.pk, user=user)
            clock.at += timedelta(seconds=float(rng.lognormal(np.log(analyst.median_seconds), 0.5)))
            fraud = truth[item.prediction.request_id]
            right = rng.random() < (analyst.right_on_fraud if fraud else analyst.right_on_legit)
            label = Prediction.Label.FRAUD if fraud == right else Prediction.Label.LEGIT
            digest = review_selectors.review_digest(item.prediction, blind=item.blind)
            if item.blind:
                review_services.decision_record(item_id=item.pk, user=user, seen_digest=digest, label=label)
            elif label == item.prediction.label:
                review_services.decision_record(
                    item_id=item.pk, user=user, seen_digest=digest, outcome=Decision.Outcome.CONFIRMED
                )
            else:
                review_services.decision_record(
                    item_id=item.pk,
                    user=user,
                    seen_digest=digest,
                    outcome=Decision.Outcome.OVERRIDDEN,
                    reason=(
                        Decision.Reason.PATTERN_MODEL_MISSED
                        if fraud
                        else Decision.Reason.KNOWN_CUSTOMER_BEHAVIOUR
                    ),
                )
            clock.at += timedelta(seconds=20)
            decided += 1
        return decided

    def _plan_outcome(
        self,
        prediction: Prediction,
        fraud: bool,
        day: int,
        rng: np.random.Generator,
        arrivals: dict[int, list[services.OutcomeReport]],
    ) -> None:
        """Most fraud is charged back 1 to 7 weeks later; a third of genuine customers confirm."""
        if fraud and rng.random() < 0.85:
            delay, label, source = int(rng.integers(7, 50)), "fraud", Outcome.Source.CHARGEBACK
        elif not fraud and rng.random() < 0.35:
            delay, label, source = int(rng.integers(1, 21)), "legit", Outcome.Source.CUSTOMER_CONFIRMED
        else:
            return
        arrivals[day + delay].append(
            services.OutcomeReport(
                request_id=prediction.request_id,
                label=label,
                source=source,
                occurred_at=prediction.created_at + timedelta(days=delay, hours=-2),
                reference=f"{source}-{prediction.pk}",
            )
        )
