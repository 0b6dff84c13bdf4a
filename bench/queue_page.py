"""The analyst queue with 100,000 pending items: page, filters, counts and "next item".

Seeds (once) a PostgreSQL database of its own with 100,000 routed predictions and their
pending review items, then times the analyst's requests through Django's test client, as
a logged-in analyst, and prints p50/p95/max per request.

    .venv/bin/python bench/queue_page.py [--items 100000] [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import _support

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/reviewapp_queue_bench"


def setup_django(database_url: str) -> None:
    _support.create_database(database_url)
    _support.configure(database_url, models="queue-bench-models")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(items: int) -> None:
    from django.db.models import OuterRef, Subquery
    from django.utils import timezone

    from predictions import training
    from predictions.models import Explanation, ModelVersion, Prediction
    from reviews.models import ReviewItem

    if ReviewItem.objects.count() >= items:
        return
    started = time.perf_counter()
    if not ModelVersion.objects.filter(status="active").exists():
        from django.core.management import call_command

        call_command("train_model", rows=20_000, activate=True, verbosity=0)
    version = ModelVersion.objects.get(status="active")
    rows = training.frame_to_records(training.generate_transactions(rows=2_000, seed=3), training.DEMO_SCHEMA)
    now = timezone.now()
    for start in range(0, items, 5_000):
        batch = [
            Prediction(
                request_id=f"queue-bench-{i}",
                model_version=version,
                features=rows[i % len(rows)],
                features_digest="0" * 64,
                score=0.15 + (i % 70) / 100,
                label="legit",
                confidence=0.8,
                routing="review",
                status="pending_review",
                routing_state="done",
                created_at=now - timezone.timedelta(minutes=i % 600),
            )
            for i in range(start, min(start + 5_000, items))
        ]
        created = Prediction.objects.bulk_create(batch)
        Explanation.objects.bulk_create(
            Explanation(prediction=p, base_value=-5.0, values={}, explainer="TreeExplainer", shap_version="-")
            for p in created
        )
        ReviewItem.objects.bulk_create(
            ReviewItem(prediction=p, priority=p.score * p.features["amount"], amount=p.features["amount"])
            for p in created
        )
    # Items arrived over ten hours, so many are past the SLA.
    arrived = Prediction.objects.filter(pk=OuterRef("prediction_id")).values("created_at")[:1]
    ReviewItem.objects.update(created_at=Subquery(arrived))
    print(f"seeded {items} pending items in {time.perf_counter() - started:.0f} s")


def timed(client, path: str, runs: int, method: str = "get") -> list[float]:
    times = []
    for _ in range(runs + 3):
        started = time.perf_counter()
        response = getattr(client, method)(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 302), (path, response.status_code)
    return times[3:]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    args = parser.parse_args()
    setup_django(args.database_url)
    seed(args.items)

    from reviews.models import ReviewItem

    _support.people(analysts=["bench-analyst"])
    client = _support.logged_in_client("bench-analyst")
    pending = ReviewItem.objects.exclude(state="decided").count()
    print(f"open items: {pending}")
    print(f"{'request':<52} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, path in [
        ("queue, first page", "/reviews/"),
        ("queue, page 200", "/reviews/?page=200"),
        ("queue, amount 100-500 and score >= 0.5", "/reviews/?amount_min=100&amount_max=500&score_min=0.5"),
        ("queue, past SLA only", "/reviews/?overdue=on"),
        ("queue counts (htmx, every 30 s)", "/reviews/counts/"),
        ("my items", "/reviews/mine/"),
    ]:
        report(label, timed(client, path, args.runs))
    claims = []
    for _ in range(args.runs):
        started = time.perf_counter()
        response = client.post("/reviews/next/")
        claims.append((time.perf_counter() - started) * 1000)
        item_id = int(response.url.rstrip("/").rsplit("/", 1)[1])
        client.post(f"/reviews/items/{item_id}/release/")
    report("next item (claim; released again after each)", claims)


def report(label: str, times: list[float]) -> None:
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"{label:<52} {statistics.median(times):>8.1f} {p95:>8.1f} {max(times):>8.1f}")


if __name__ == "__main__":
    main()
