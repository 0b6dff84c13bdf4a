"""The scorecard and the threshold what-if at 1,000,000 predictions and 200,000 outcomes.

Seeds a PostgreSQL database of its own once, straight in SQL (two model versions over 90 days,
scores drawn so that ~6.5 % fall below the review threshold, a 1 % audit sample, decisions by
a dozen analysts with a tenth of the low-confidence ones blind, outcomes arriving with a
delay so that recent weeks are barely labelled), then times the quality endpoints through
the real code path (Django's test client, logged in as an auditor: middleware, session,
validation, selectors, JSON) and prints p50/p95/max per request, with the plan of each query.

    .venv/bin/python bench/quality.py             # seed if needed, migrate, measure
    .venv/bin/python bench/quality.py --reseed    # drop the database and start over
    .venv/bin/python bench/quality.py --without-indexes   # the same, without the quality indexes

`--without-indexes` puts the indexes back as they were before the `quality_indexes` migration
(its three dropped, 0009's prediction_labelled_created built); the next run without it builds
them again (CREATE INDEX CONCURRENTLY, timed). `--runs 5` is enough there: seconds a request.

"cpu ms" is this process's own CPU per request (Django, the statistics, the JSON); the rest
of the wall time is PostgreSQL.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import _support

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/reviewapp_bench_quality"
DAYS = 90
VERSION_SWITCH_DAY = 45  # v1 for the first 45 days, v2 (active) since
REVIEW_THRESHOLD = 0.85
AUDIT_SAMPLE_RATE = 0.01
BLIND_SHARE = 0.1  # of the low-confidence items, reviewed blind (audit samples always are)
SCORE_POWER = 25  # score = u**25: mean 1/26, so ~3.8 % fraud, and 6.7 % with confidence < 0.85
# The chance upstream ever reports an outcome: frauds a little more often (chargebacks), so the
# labelled share differs by outcome as it does in production, without swamping the estimates.
REPORTED = {"fraud": 0.3, "legit": 0.22}
DELAY_DAYS = 10.0  # mean of the exponential delay before it does
POOL_ROWS = 2_000  # demo feature rows, reused: the table has realistic row widths
REVIEWERS = [f"analyst{n:02d}" for n in range(1, 13)]
AUDITOR = "bench-auditor"
INDEX_MIGRATION = "quality_indexes"
TABLES = ("predictions_prediction", "reviews_reviewitem", "reviews_decision", "outcomes_outcome")


def parse_args() -> argparse.Namespace:
    parser = _support.parser(__doc__, DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--without-indexes",
        action="store_true",
        help="measure without the quality_indexes migration's indexes",
    )
    _support.timing_options(parser, each="request")
    return parser.parse_args()


def set_quality_indexes(*, present: bool) -> None:
    """The indexes as the migration leaves them, or as they were before it (for the figures
    without them), and how much of the table an index-only scan can skip."""
    from django.db import connection

    _support.indexes_put(INDEX_MIGRATION, present=present)
    # Index-only scans skip the table only for pages marked all-visible, which VACUUM does (in
    # production autovacuum, also after inserts). A seed's own VACUUM can leave most pages
    # unmarked while another session's snapshot is older than the rows: read it here.
    _support.vacuum_analyze(TABLES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relallvisible, relpages FROM pg_class WHERE relname = 'predictions_prediction'"
        )
        visible, pages = cursor.fetchone()
        share = visible / max(pages, 1)
        print(f"predictions_prediction: {pages * 8 / 1024:,.0f} MB, {share:.0%} of its pages all-visible")
        cursor.execute(
            "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
            "WHERE relname = 'predictions_prediction' AND indexrelname LIKE 'prediction_%%' ORDER BY 1"
        )
        sizes = ", ".join(f"{name} {size / 2**20:.0f} MB" for name, size in cursor.fetchall())
    print(f"indexes: {sizes}")


# --- seeding -----------------------------------------------------------------------------


def seed(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=DAYS)
    ids = _support.people(analysts=REVIEWERS, auditors=[AUDITOR])  # the auditor reads the scorecard
    context = {
        "rows": args.rows,
        "start": start,
        "end": end,
        "step_seconds": (end - start).total_seconds() / args.rows,
        "versions": versions(start),
        "reviewer_ids": [ids[name] for name in REVIEWERS],
    }
    steps = [
        ("drawn rows", draw_rows),
        ("predictions", insert_predictions),
        ("review items", insert_review_items),
        ("decisions", insert_decisions),
        ("outcomes", insert_outcomes),
    ]
    _support.seed_steps(started=started, load_pool=load_pool, steps=steps, context=context, tables=TABLES)


def versions(start: datetime) -> list[int]:
    """Two model versions, v2 active since day 45. Their artifacts are never loaded: nothing is scored."""
    from predictions.models import ModelVersion
    from predictions.training import DEMO_SCHEMA

    ids = []
    for number, (status, live_from) in enumerate(
        [("retired", start), ("active", start + timedelta(days=VERSION_SWITCH_DAY))], start=1
    ):
        version = ModelVersion.objects.create(
            name="card-fraud",
            version=number,
            artifact_path=f"bench-v{number}.joblib",
            sha256="0" * 64,
            feature_schema=DEMO_SCHEMA,
            review_threshold=REVIEW_THRESHOLD,
            audit_sample_rate=AUDIT_SAMPLE_RATE,
            status=status,
            activated_at=live_from,
            activated_by="system:quality_bench",
        )
        ids.append(version.pk)
    return ids


def load_pool(cursor) -> None:
    """Demo feature rows, so each prediction is as wide as a real one (features, reason codes)."""
    import json

    from predictions import training

    records = training.frame_to_records(
        training.generate_transactions(rows=POOL_ROWS, seed=17), training.DEMO_SCHEMA
    )
    cursor.execute(
        "CREATE TEMP TABLE bench_pool (n int PRIMARY KEY, features jsonb, reason_codes jsonb) ON COMMIT DROP"
    )
    with cursor.cursor.copy("COPY bench_pool FROM STDIN") as copy:
        for n, features in enumerate(records):
            names = list(features)
            top = [names[(n + i) % len(names)] for i in range(3)]
            reasons = [{"feature": name, "value": features[name], "contribution": 0.1} for name in top]
            copy.write_row((n, json.dumps(features), json.dumps(reasons)))


def draw_rows(cursor, context: dict[str, Any]) -> int:
    """Every random draw of a prediction's life, in one temporary table the inserts read.

    A score u**25 and its truth drawn from it (a calibrated model); why it is reviewed (below
    the threshold, or the 1 % audit sample); whether it was decided (all but some of the last
    two days), by whom, blind or not, rightly 90 % of the time; whether and when an outcome
    came (frauds reported a little more often than legitimate ones, after an exponential delay).
    """
    cursor.execute(
        """
        CREATE TEMP TABLE bench_rows ON COMMIT DROP AS
        SELECT g, created_at, score, truth, greatest(score, 1 - score) AS confidence,
               CASE WHEN greatest(score, 1 - score) < %(threshold)s THEN 'low_confidence'
                    WHEN random() < %(audit_rate)s THEN 'audit_sample' END AS reason,
               created_at < %(end)s - interval '2 days' OR random() < 0.4 AS decided,
               random() < %(blind)s AS blind,
               CASE WHEN random() < 0.9 THEN truth ELSE NOT truth END AS human_fraud,
               1 + floor(power(random(), 1.4) * %(reviewers)s)::int AS reviewer,
               power(random(), 2) AS slowness,
               random() < CASE WHEN truth THEN %(reported_fraud)s ELSE %(reported_legit)s END AS reported,
               -ln(1 - random()) * %(delay_days)s * interval '1 day' AS delay
        FROM (
            SELECT g, created_at, score, random() < score AS truth
            FROM (
                SELECT g, %(start)s + ((g - 1) + random()) * %(step)s * interval '1 second' AS created_at,
                       power(random(), %(power)s) AS score
                FROM generate_series(1, %(rows)s) AS g
            ) AS t
        ) AS s
        """,
        {
            "threshold": REVIEW_THRESHOLD,
            "audit_rate": AUDIT_SAMPLE_RATE,
            "end": context["end"],
            "blind": BLIND_SHARE,
            "reviewers": len(REVIEWERS),
            "reported_fraud": REPORTED["fraud"],
            "reported_legit": REPORTED["legit"],
            "delay_days": DELAY_DAYS,
            "start": context["start"],
            "step": context["step_seconds"],
            "power": SCORE_POWER,
            "rows": context["rows"],
        },
    )
    count = cursor.rowcount
    cursor.execute("ALTER TABLE bench_rows ADD PRIMARY KEY (g)")
    return count


def insert_predictions(cursor, context: dict[str, Any]) -> int:
    """All predictions in one INSERT ... SELECT, time-ordered, v1 then v2, with their outcome."""
    cursor.execute(
        """
        INSERT INTO predictions_prediction (
            request_id, model_version_id, features, features_digest, score, label, confidence,
            routing, status, final_label, reason_codes, routing_state, routed_at, review_reason,
            inclusion_probability, created_at,
            outcome_label, outcome_source, outcome_occurred_at, outcome_received_at)
        SELECT 'quality-bench-' || r.g,
               CASE WHEN r.created_at < %(switch)s THEN %(v1)s ELSE %(v2)s END,
               pool.features, md5(r.g::text) || md5(r.g::text), r.score,
               CASE WHEN r.score >= 0.5 THEN 'fraud' ELSE 'legit' END, r.confidence,
               CASE WHEN r.reason = 'low_confidence' THEN 'review' ELSE 'auto' END,
               CASE WHEN r.reason IS DISTINCT FROM 'low_confidence' THEN 'decided'
                    WHEN r.decided THEN 'reviewed' ELSE 'pending_review' END,
               CASE WHEN r.reason IS DISTINCT FROM 'low_confidence' THEN
                        CASE WHEN r.score >= 0.5 THEN 'fraud' ELSE 'legit' END
                    WHEN NOT r.decided THEN ''
                    WHEN r.human_fraud THEN 'fraud' ELSE 'legit' END,
               pool.reason_codes,
               CASE WHEN r.reason IS NULL THEN 'not_needed' ELSE 'done' END,
               CASE WHEN r.reason IS NOT NULL THEN r.created_at + interval '2 seconds' END,
               r.reason,
               CASE r.reason WHEN 'low_confidence' THEN 1.0 WHEN 'audit_sample' THEN %(audit_rate)s END,
               r.created_at,
               CASE WHEN r.reported AND r.created_at + r.delay < %(end)s THEN
                    CASE WHEN r.truth THEN 'fraud' ELSE 'legit' END END,
               CASE WHEN r.reported AND r.created_at + r.delay < %(end)s THEN
                    CASE WHEN r.truth THEN 'chargeback' ELSE 'customer_confirmed' END END,
               CASE WHEN r.reported AND r.created_at + r.delay < %(end)s THEN r.created_at + r.delay END,
               CASE WHEN r.reported AND r.created_at + r.delay < %(end)s
                    THEN least(r.created_at + r.delay + interval '1 day', %(end)s) END
        FROM bench_rows AS r
        JOIN bench_pool AS pool ON pool.n = (r.g::bigint * 7919) %% %(pool_rows)s
        ORDER BY r.g
        """,
        {
            "switch": context["start"] + timedelta(days=VERSION_SWITCH_DAY),
            "v1": context["versions"][0],
            "v2": context["versions"][1],
            "audit_rate": AUDIT_SAMPLE_RATE,
            "end": context["end"],
            "pool_rows": POOL_ROWS,
        },
    )
    return cursor.rowcount


def insert_review_items(cursor, context: dict[str, Any]) -> int:
    """An item per reviewed prediction; a decided one held by its analyst for 28 s to 4 min."""
    cursor.execute(
        """
        INSERT INTO reviews_reviewitem (prediction_id, state, priority, amount, blind, claimed_by_id,
            claimed_at, lease_expires_at, created_at, decided_at)
        SELECT p.id, CASE WHEN r.decided THEN 'decided' ELSE 'pending' END, r.score, NULL,
               r.reason = 'audit_sample' OR r.blind,
               CASE WHEN r.decided THEN (%(reviewers)s::bigint[])[r.reviewer] END,
               CASE WHEN r.decided THEN r.created_at + interval '1 hour' END,
               CASE WHEN r.decided THEN r.created_at + interval '1 hour 15 minutes' END,
               r.created_at + interval '2 seconds',
               CASE WHEN r.decided THEN r.created_at + interval '1 hour'
                    + (20 + 8 * r.reviewer + 150 * r.slowness) * interval '1 second' END
        FROM bench_rows AS r
        JOIN predictions_prediction AS p ON p.request_id = 'quality-bench-' || r.g
        WHERE r.reason IS NOT NULL
        ORDER BY r.g
        """,
        {"reviewers": context["reviewer_ids"]},
    )
    return cursor.rowcount


def insert_decisions(cursor, context: dict[str, Any]) -> int:
    """The verdicts, the human's label each (an audit sample's stays off its prediction)."""
    cursor.execute(
        """
        INSERT INTO reviews_decision (review_item_id, outcome, final_label, reason, note,
            reviewer_id, reviewer_name, seen_digest, decided_at, blind)
        SELECT ri.id,
               CASE WHEN r.human_fraud = (p.label = 'fraud') THEN 'confirmed' ELSE 'overridden' END,
               CASE WHEN r.human_fraud THEN 'fraud' ELSE 'legit' END,
               CASE WHEN r.human_fraud = (p.label = 'fraud') OR ri.blind THEN '' ELSE 'other' END,
               '', ri.claimed_by_id, u.username, md5(p.request_id) || md5(p.request_id), ri.decided_at,
               ri.blind
        FROM reviews_reviewitem AS ri
        JOIN predictions_prediction AS p ON p.id = ri.prediction_id
        JOIN bench_rows AS r ON 'quality-bench-' || r.g = p.request_id
        JOIN auth_user AS u ON u.id = ri.claimed_by_id
        WHERE ri.state = 'decided'
        ORDER BY ri.id
        """
    )
    return cursor.rowcount


def insert_outcomes(cursor, context: dict[str, Any]) -> int:
    """The outcomes themselves, one per labelled prediction (the scorecard reads the copy on it)."""
    cursor.execute(
        """
        INSERT INTO outcomes_outcome (prediction_id, label, source, reference, occurred_at, received_at,
            reported_by)
        SELECT id, outcome_label, outcome_source, '', outcome_occurred_at, outcome_received_at,
               'system:quality_bench'
        FROM predictions_prediction
        WHERE outcome_label IS NOT NULL
        ORDER BY id
        """
    )
    return cursor.rowcount


# --- measuring ---------------------------------------------------------------------------


def facts() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(created_at), max(created_at), count(*), count(outcome_label) "
            "FROM predictions_prediction"
        )
        first, last, total, labelled = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM reviews_decision")
        decisions = cursor.fetchone()[0]
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    return {
        "first": first,
        "last": last,
        "total": total,
        "labelled": labelled,
        "decisions": decisions,
        "server": server,
    }


def requests(f: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(name, path, params for run i). Windows shift by a day between runs, so no run only
    re-reads what the one before it had just sorted."""
    last = f["last"].astimezone(UTC).date()

    def window(days: int, i: int, **extra: Any) -> dict[str, Any]:
        until = last - timedelta(days=i % 3)
        return {"since": (until - timedelta(days=days - 1)).isoformat(), "until": until.isoformat(), **extra}

    api, thresholds = "/api/v1/quality/", "/api/v1/quality/thresholds/"
    return [
        ("scorecard, 90 days, every version", api, lambda i: window(90, i)),
        ("scorecard, 90 days, model_version=2 (half)", api, lambda i: window(90, i, model_version=2)),
        ("scorecard, 30 days", api, lambda i: window(30, i)),
        ("scorecard, 365 days (all of it)", api, lambda i: window(365, i)),
        ("what-if, 90 days", thresholds, lambda i: window(90, i)),
        (
            "what-if, 90 days, other costs and hours",
            thresholds,
            lambda i: window(
                90, i, analyst_hours_per_day=4 + i % 5, cost_false_positive=2, cost_missed_fraud=250
            ),
        ),
        ("what-if, 30 days", thresholds, lambda i: window(30, i)),
        ("/quality/ page, 90 days", "/quality/", lambda i: window(90, i)),
        ("/quality/thresholds/ page, 90 days", "/quality/thresholds/", lambda i: window(90, i)),
    ]


def measure(client, name: str, path: str, params, args: argparse.Namespace) -> dict[str, Any]:
    result = _support.measure(client, name, path, params, runs=args.runs, warmup=args.warmup)
    return {
        **result,
        "queries": len(result["queries"]),
        "sql": [q for q in result["queries"] if "predictions_prediction" in q["sql"]],
    }


def plan_node(head: str) -> str | None:
    """The scans of a plan."""
    if head.startswith(("Seq Scan", "Index", "Parallel Seq Scan", "Parallel Index", "Bitmap")):
        return head
    return None


def run(args: argparse.Namespace, f: dict[str, Any]) -> None:
    client = _support.logged_in_client(AUDITOR)
    print(f"load average before: {_support.load_average()}")
    print(
        f"{'request':<48} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'runs':>5} {'cpu ms':>7} {'queries':>7}"
    )
    results = []
    for name, path, params in requests(f):
        result = measure(client, name, path, params, args)
        results.append(result)
        print(
            f"{name:<48} {result['p50']:8.1f} {result['p95']:8.1f} {result['max']:8.1f} "
            f"{args.runs:5d} {result['cpu']:7.1f} {result['queries']:7d}",
            flush=True,
        )
    print(f"load average after: {_support.load_average()}")
    print("\nquery plans of the first two requests (EXPLAIN ANALYZE, each query reading predictions):")
    for result in results[:1] + results[4:5]:
        print(f"- {result['name']}:")
        for query in result["sql"]:
            plan = _support.explain(query["sql"])
            print(f"    {query['sql'][:90]}…\n      {_support.plan_summary(plan, plan_node)}")


def main() -> None:
    args = parse_args()
    _support.database_ready(args, models="quality-bench-models", seed=seed)
    set_quality_indexes(present=not args.without_indexes)
    f = facts()
    print(
        f"{f['server']}; {f['total']:,} predictions from {f['first']:%Y-%m-%d} to {f['last']:%Y-%m-%d}, "
        f"{f['labelled']:,} with an outcome, {f['decisions']:,} decisions; "
        f"quality indexes {'absent' if args.without_indexes else 'present'}"
    )
    run(args, f)


if __name__ == "__main__":
    main()
