"""Audit search at scale: 1,000,000 predictions with explanations and reviews on PostgreSQL.

Seeds a database of its own once (three model versions over 90 days, ~6 % of predictions
routed to review, most of those decided by a dozen analysts), then drives the common audit
searches through the real code path (Django's test client, logged in as an auditor: middleware,
session, filterset, selector, cursor pagination, serializer or template) and prints p50/p95/max
per search with a summary of each query plan, the whole plan for the slow ones. Last, it streams
an unfiltered CSV export of every row in a child process and prints rows/s and that process's
peak RSS.

    .venv/bin/python bench/audit_search.py                    # seed if needed, migrate, measure
    .venv/bin/python bench/audit_search.py --before-indexes   # the same, without the audit indexes
    .venv/bin/python bench/audit_search.py --reseed           # drop the database and start over

`--before-indexes` drops the indexes that the `audit_search_indexes` migrations add; the next run
without it builds them again (CREATE INDEX CONCURRENTLY, timed).

"cpu ms" is this process's own CPU per request (p50: Django, DRF or the template); the rest of
the wall time is PostgreSQL and waiting for a core, which on a shared 2-core machine is most of
the p95.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _support

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/reviewapp_audit_bench"
VERSION_DAYS = (35, 35, 20)  # how long each model version was live, oldest first: 90 days
POOL_ROWS = 4000  # scored and explained transactions per version, reused with new request IDs
REVIEW_SHARE = 0.06  # of predictions routed to human review
DECIDED_SHARE = 0.9  # of review items decided (the rest pending or claimed)
OVERRIDE_SHARE = 0.18  # of decisions that override the model
REVIEWERS = [f"analyst{n:02d}" for n in range(1, 13)]
FORMER_REVIEWER = "analyst13"  # decided items of the first three weeks only, then left
AUDITOR = "bench-auditor"
INDEX_MIGRATION = "audit_search_indexes"
MODELS = "audit-bench-models"  # under var/


def parse_args() -> argparse.Namespace:
    parser = _support.parser(__doc__, DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--before-indexes", action="store_true", help="measure without the audit_search_indexes"
    )
    _support.timing_options(parser, each="search")
    parser.add_argument("--slow-ms", type=float, default=100.0, help="print the whole plan above this p95")
    parser.add_argument(
        "--gc-off",
        action="store_true",
        help="searches with Python's cyclic GC off (to tell its pauses apart)",
    )
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--export-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- seeding -----------------------------------------------------------------------------


def seed(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    end = datetime.now().astimezone().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=sum(VERSION_DAYS))
    versions, pools = train_versions(start)
    print(
        f"seed: trained, scored and explained {len(pools)} pool rows in {time.perf_counter() - started:.1f} s"
    )
    reviewer_ids, former_id, api_key_id = people()
    steps = [
        ("predictions", insert_predictions),
        ("explanations", insert_explanations),
        ("review items", insert_review_items),
        ("decisions", insert_decisions),
    ]
    context = {
        "rows": args.rows,
        "start": start,
        "step_seconds": (end - start).total_seconds() / args.rows,
        "api_key_id": api_key_id,
        "reviewer_ids": reviewer_ids,
        "former_id": former_id,
        "versions": versions,
    }
    _support.seed_steps(
        started=started,
        load_pool=lambda cursor: load_pool(cursor, pools),
        steps=steps,
        context=context,
        tables=(
            "predictions_prediction",
            "predictions_explanation",
            "reviews_reviewitem",
            "reviews_decision",
        ),
    )


def train_versions(start: datetime) -> tuple[list[dict[str, Any]], list[tuple]]:
    """Three model versions, each live for a period; a pool of scored rows for each.

    Each version is trained on its own small demo data (the real train/register/activate path),
    then scores fresh demo traffic; the pool keeps REVIEW_SHARE rows below the review threshold.
    """
    from django.conf import settings

    from predictions import services, training
    from predictions.models import ModelVersion
    from predictions.scoring import Scorer, encode_rows

    versions, pools = [], []
    live_from = start
    for index, days in enumerate(VERSION_DAYS):
        seed = 100 + index
        frame = training.generate_transactions(rows=20_000, seed=seed)
        result = training.train(
            frame=frame,
            schema=training.DEMO_SCHEMA,
            target="is_fraud",
            review_threshold=settings.REVIEW_CONFIDENCE_THRESHOLD,
            seed=seed,
        )
        version = services.model_version_register(
            name="card-fraud", result=result, training_info={"rows": 20_000, "seed": seed, "bench": True}
        )
        services.model_version_activate(version=version.version, actor="system:audit_bench")
        ModelVersion.objects.filter(pk=version.pk).update(
            created_at=live_from - timedelta(days=1), activated_at=live_from
        )
        scorer = Scorer({"estimator": result.estimator, "schema": result.schema, "decision_threshold": 0.5})
        records = training.frame_to_records(
            training.generate_transactions(rows=60_000, seed=seed + 50), result.schema
        )
        pool = pool_records(
            result.estimator, encode_rows(result.schema, records), records, version.review_threshold
        )
        for n, (features, scored) in enumerate(zip(pool, scorer.score(pool), strict=True)):
            pools.append(pool_row(version.pk, n, features, scored, scorer, version.review_threshold))
        live_to = live_from + timedelta(days=days)
        versions.append({"id": version.pk, "version": version.version, "from": live_from, "to": live_to})
        live_from = live_to
    return versions, pools


def pool_records(estimator, matrix, records: list[dict], threshold: float) -> list[dict]:
    """POOL_ROWS records, REVIEW_SHARE of them uncertain enough to need review."""
    import numpy as np

    scores = estimator.predict_proba(matrix)[:, 1]
    uncertain = np.maximum(scores, 1 - scores) < threshold
    review_rows = round(POOL_ROWS * REVIEW_SHARE)
    chosen = [
        *np.flatnonzero(uncertain)[:review_rows],
        *np.flatnonzero(~uncertain)[: POOL_ROWS - review_rows],
    ]
    if len(chosen) != POOL_ROWS:
        raise SystemExit("not enough uncertain demo transactions for the pool; raise the rows generated")
    rng = np.random.default_rng(7)
    return [records[i] for i in rng.permutation(chosen)]


def pool_row(version_id: int, n: int, features: dict, scored, scorer, threshold: float) -> tuple:
    from predictions.services import features_digest

    return (
        version_id,
        n,
        json.dumps(features),
        features_digest(features),
        scored.score,
        scored.label,
        scored.confidence,
        "review" if scored.confidence < threshold else "auto",
        json.dumps(scored.reason_codes(features)),
        scored.base_value,
        json.dumps(scored.contributions),
        scorer.shap_version,
    )


def people() -> tuple[list[int], int, int]:
    """Analysts who decide, the auditor who searches, the upstream key that scored."""
    from predictions.models import ApiKey

    ids = _support.people(analysts=[*REVIEWERS, FORMER_REVIEWER], auditors=[AUDITOR])
    api_key, _ = ApiKey.objects.get_or_create(
        name="bench-upstream", defaults={"prefix": "benchup", "key_hash": "0" * 64}
    )
    return [ids[name] for name in REVIEWERS], ids[FORMER_REVIEWER], api_key.pk


def load_pool(cursor, pools: list[tuple]) -> None:
    cursor.execute(
        """
        CREATE TEMP TABLE bench_pool (
            version_id bigint, n int, features jsonb, digest varchar(64), score float8,
            label varchar(5), confidence float8, routing varchar(6), reason_codes jsonb,
            base_value float8, contributions jsonb, shap_version varchar(20),
            PRIMARY KEY (version_id, n)
        ) ON COMMIT DROP
        """
    )
    with cursor.cursor.copy("COPY bench_pool FROM STDIN") as copy:
        for row in pools:
            copy.write_row(row)
    cursor.execute("ANALYZE bench_pool")


def insert_predictions(cursor, context: dict[str, Any]) -> int:
    """All predictions in one INSERT ... SELECT: time-ordered, each version in its own period."""
    versions = context["versions"]
    starts = [v["from"] for v in versions]
    cursor.execute(
        """
        INSERT INTO predictions_prediction (
            request_id, api_key_id, model_version_id, features, features_digest, score, label,
            confidence, routing, status, final_label, reason_codes, routing_state,
            routing_enqueued_at, routed_at, review_reason, inclusion_probability, created_at)
        SELECT md5('audit-bench-' || s.g)::uuid::text, %(api_key_id)s, pool.version_id, pool.features,
            pool.digest, pool.score, pool.label, pool.confidence, pool.routing,
            CASE WHEN pool.routing = 'auto' THEN 'decided'
                 WHEN s.decided THEN 'reviewed' ELSE 'pending_review' END,
            CASE WHEN pool.routing = 'auto' THEN pool.label
                 WHEN NOT s.decided THEN ''
                 WHEN s.overridden THEN (CASE pool.label WHEN 'fraud' THEN 'legit' ELSE 'fraud' END)
                 ELSE pool.label END,
            pool.reason_codes,
            CASE WHEN pool.routing = 'auto' THEN 'not_needed' ELSE 'done' END,
            CASE WHEN pool.routing = 'review' THEN s.created_at END,
            CASE WHEN pool.routing = 'review' THEN s.created_at + interval '2 seconds' END,
            CASE WHEN pool.routing = 'review' THEN 'low_confidence' END,
            CASE WHEN pool.routing = 'review' THEN 1.0 END,
            s.created_at
        FROM (
            SELECT g, created_at,
                   random() < %(decided)s AS decided, random() < %(overridden)s AS overridden,
                   CASE WHEN created_at < %(start2)s THEN %(v1)s
                        WHEN created_at < %(start3)s THEN %(v2)s ELSE %(v3)s END AS version_id
            FROM (
                SELECT g, %(start)s + ((g - 1) + random()) * %(step)s * interval '1 second' AS created_at
                FROM generate_series(1, %(rows)s) AS g
            ) AS t
        ) AS s
        JOIN bench_pool AS pool
          ON pool.version_id = s.version_id AND pool.n = (s.g::bigint * 7919) %% %(pool_rows)s
        ORDER BY s.g
        """,
        {
            "api_key_id": context["api_key_id"],
            "decided": DECIDED_SHARE,
            "overridden": OVERRIDE_SHARE,
            "start": context["start"],
            "start2": starts[1],
            "start3": starts[2],
            "v1": versions[0]["id"],
            "v2": versions[1]["id"],
            "v3": versions[2]["id"],
            "step": context["step_seconds"],
            "rows": context["rows"],
            "pool_rows": POOL_ROWS,
        },
    )
    return cursor.rowcount


def insert_explanations(cursor, context: dict[str, Any]) -> int:
    cursor.execute(
        """
        INSERT INTO predictions_explanation
            (prediction_id, base_value, "values", output, explainer, shap_version)
        SELECT p.id, pool.base_value, pool.contributions, 'log-odds', 'TreeExplainer', pool.shap_version
        FROM predictions_prediction AS p
        JOIN bench_pool AS pool
          ON pool.version_id = p.model_version_id AND pool.digest = p.features_digest
        ORDER BY p.id
        """
    )
    return cursor.rowcount


def insert_review_items(cursor, context: dict[str, Any]) -> int:
    """One item per routed prediction: decided ones name the analyst who held them."""
    cursor.execute(
        """
        INSERT INTO reviews_reviewitem (prediction_id, state, priority, amount, blind, claimed_by_id,
            claimed_at, lease_expires_at, created_at, decided_at)
        SELECT id, state, priority, amount, false,
               CASE WHEN state <> 'pending' THEN reviewer END,
               CASE WHEN state <> 'pending' THEN decided_at - interval '4 minutes' END,
               CASE WHEN state <> 'pending' THEN decided_at + interval '11 minutes' END,
               created_at + interval '2 seconds',
               CASE WHEN state = 'decided' THEN decided_at END
        FROM (
            SELECT p.id, p.created_at,
                   CASE WHEN p.status = 'reviewed' THEN 'decided'
                        WHEN random() < 0.3 THEN 'claimed' ELSE 'pending' END AS state,
                   round((p.score * (p.features->>'amount')::float8
                          * (0.5 + 1 - abs(p.score - 0.5) * 2))::numeric, 6)::float8 AS priority,
                   (p.features->>'amount')::float8 AS amount,
                   CASE WHEN p.created_at < %(former_until)s AND random() < 0.15 THEN %(former_id)s
                        ELSE (%(reviewers)s::bigint[])[1 + floor(power(random(), 1.6) * %(count)s)::int]
                   END AS reviewer,
                   p.created_at + (60 + random() * 6 * 3600) * interval '1 second' AS decided_at
            FROM predictions_prediction AS p
            WHERE p.routing = 'review'
            ORDER BY p.id
        ) AS routed
        """,
        {
            "reviewers": context["reviewer_ids"],
            "count": len(context["reviewer_ids"]),
            "former_id": context["former_id"],
            "former_until": context["start"] + timedelta(days=21),
        },
    )
    return cursor.rowcount


def insert_decisions(cursor, context: dict[str, Any]) -> int:
    """The verdicts: overrides always give a reason, some confirmations do; a third carry a note."""
    cursor.execute(
        """
        INSERT INTO reviews_decision (review_item_id, outcome, final_label, reason, note,
            reviewer_id, reviewer_name, seen_digest, decided_at, blind)
        SELECT ri.id,
               CASE WHEN p.final_label = p.label THEN 'confirmed' ELSE 'overridden' END,
               p.final_label,
               CASE WHEN p.final_label <> p.label
                    THEN (ARRAY['known_customer_behaviour', 'known_customer_behaviour',
                                'confirmed_with_cardholder', 'confirmed_with_cardholder',
                                'pattern_model_missed', 'data_error', 'other'])[1 + floor(random() * 7)::int]
                    WHEN random() < 0.25 THEN 'confirmed_with_cardholder'
                    ELSE '' END,
               CASE WHEN random() < 0.33
                    THEN (ARRAY['Called the cardholder, confirmed the purchase.',
                                'Matches previous travel pattern.',
                                'Device and IP seen on earlier genuine orders.',
                                'Several small card-testing charges before this one.',
                                'Shipping address on the fraud watch list.'])[1 + floor(random() * 5)::int]
                    ELSE '' END,
               ri.claimed_by_id, u.username,
               encode(sha256(convert_to(p.request_id || p.features_digest, 'UTF8')), 'hex'),
               ri.decided_at, false
        FROM reviews_reviewitem AS ri
        JOIN predictions_prediction AS p ON p.id = ri.prediction_id
        JOIN auth_user AS u ON u.id = ri.claimed_by_id
        WHERE ri.state = 'decided'
        ORDER BY ri.id
        """
    )
    return cursor.rowcount


# --- measuring ---------------------------------------------------------------------------


def facts() -> dict[str, Any]:
    """Values the searches use: real request IDs, version periods, a rare top reason."""
    from django.db import connection

    from predictions.models import ModelVersion
    from predictions.training import DEMO_SCHEMA

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT request_id FROM predictions_prediction TABLESAMPLE SYSTEM (0.5) REPEATABLE (3) LIMIT 200"
        )
        request_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT min(created_at), max(created_at) FROM predictions_prediction")
        first, last = cursor.fetchone()
        cursor.execute(
            """
            SELECT code->>'feature', count(*) FROM (
                SELECT reason_codes FROM predictions_prediction TABLESAMPLE SYSTEM (1) REPEATABLE (5)
            ) AS sample, jsonb_array_elements(reason_codes) AS code
            GROUP BY 1 ORDER BY 2
            """
        )
        reasons = cursor.fetchall()
        cursor.execute("SELECT version() ")
        server = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FILTER (WHERE routing = 'review'), count(*) FROM predictions_prediction"
        )
        review, total = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM reviews_decision")
        decisions = cursor.fetchone()[0]
    versions = list(ModelVersion.objects.order_by("version").values_list("version", "activated_at"))
    seen = {name for name, _ in reasons}
    never = [spec["name"] for spec in DEMO_SCHEMA if spec["name"] not in seen]
    return {
        "request_ids": request_ids,
        "first": first,
        "last": last,
        "rare_reason": reasons[0][0],
        "common_reason": reasons[-1][0],
        "absent_reason": never[0] if never else reasons[0][0],
        "server": server.split(" on ")[0],
        "review_share": review / total,
        "total": total,
        "decisions": decisions,
        "versions": versions,
    }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def searches(f: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(name, path, params for run i): the four common searches first, then the others.

    Parameters vary between runs (request IDs, windows, reviewers) so no run only re-reads what
    the one before it cached.
    """
    api, page = "/api/v1/predictions/", "/audit/"
    last = f["last"]
    (v1, _), (v2, v2_from), (v3, v3_from) = f["versions"]

    def week_of(version_from: datetime, i: int) -> dict[str, str]:
        # A different 7-day window inside the version's period each run.
        begin = version_from + timedelta(days=1 + i % 12)
        return {"created_after": iso(begin), "created_before": iso(begin + timedelta(days=7))}

    def last_month(i: int) -> dict[str, str]:
        return {
            "created_after": iso(last - timedelta(days=30 + i % 5)),
            "created_before": iso(last - timedelta(days=i % 5)),
        }

    return [
        ("request_id", api, lambda i: {"request_id": f["request_ids"][i % len(f["request_ids"])]}),
        ("date range 7 d + model version", api, lambda i: {**week_of(v2_from, i), "model_version": v2}),
        ("date range 30 d + retired version (none)", api, lambda i: {**last_month(i), "model_version": v1}),
        ("model version, all time", api, lambda i: {"model_version": (v1, v2, v3)[i % 3]}),
        (
            "/audit/ date range 7 d + model version",
            page,
            lambda i: {**week_of(v3_from, i), "model_version": v3},
        ),
        ("reviewer (12 current)", api, lambda i: {"reviewer": REVIEWERS[i % len(REVIEWERS)]}),
        ("reviewer who left 10 weeks ago", api, lambda i: {"reviewer": FORMER_REVIEWER}),
        ("final label fraud", api, lambda i: {"final_label": "fraud"}),
        (
            "final label fraud + date range 7 d",
            api,
            lambda i: {**week_of(v3_from, i), "final_label": "fraud"},
        ),
        ("decision overridden", api, lambda i: {"decision": "overridden"}),
        ("reviewer + overridden", api, lambda i: {"reviewer": REVIEWERS[i % 12], "decision": "overridden"}),
        ("score 0.4-0.6", api, lambda i: {"score_min": "0.4", "score_max": "0.6"}),
        ("score >= 0.5, by score desc", api, lambda i: {"score_min": "0.5", "ordering": "-score"}),
        ("all, by score desc", api, lambda i: {"ordering": "-score"}),
        (f"top_reason {f['common_reason']} (common)", api, lambda i: {"top_reason": f["common_reason"]}),
        (f"top_reason {f['rare_reason']} (rare)", api, lambda i: {"top_reason": f["rare_reason"]}),
        (f"top_reason {f['absent_reason']} (never)", api, lambda i: {"top_reason": f["absent_reason"]}),
        ("/audit/ first page", page, lambda i: {}),
        ("/audit/ page 20", page, lambda i: {"page": "20"}),
    ]


def rows_in(response) -> int:
    if response["Content-Type"].startswith("application/json"):
        return len(response.json()["results"])
    return response.content.count(b'href="/audit/predictions/')


def measure(client, name: str, path: str, params, args: argparse.Namespace) -> dict[str, Any]:
    result = _support.measure(client, name, path, params, runs=args.runs, warmup=args.warmup, runs_if_slow=5)
    slowest = max(result["queries"], key=lambda q: float(q["time"]))
    return {**result, "rows": rows_in(result["response"]), "sql": slowest["sql"]}


def plan_node(head: str) -> str | None:
    """The access paths: which scans, which indexes, sorts."""
    if re.match(r"[A-Za-z ]+:", head):
        return None  # a property of the node above (Sort Key:, Index Cond:, ...)
    kind, index, table = re.match(r"(.+?)(?: using (\S+))?(?: on (\S+)(?: \S+)?)?$", head).groups()
    if kind.startswith(("Seq Scan", "Index", "Bitmap", "Sort", "Incremental Sort", "Parallel")):
        return f"{kind} {index or table or ''}".strip()
    return None


def run_searches(args: argparse.Namespace, f: dict[str, Any]) -> None:
    client = _support.logged_in_client(AUDITOR)
    if args.gc_off:
        gc.disable()
    print(f"\nPython cyclic GC {'off' if args.gc_off else 'on'}")
    print(f"load average before the searches: {_support.load_average()}")
    print(f"{'search':<62} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'rows':>5} {'runs':>5} {'cpu ms':>7}")
    results = []
    for name, path, params in searches(f):
        result = measure(client, name, path, params, args)
        results.append(result)
        print(
            f"{name:<62} {result['p50']:8.1f} {result['p95']:8.1f} {result['max']:8.1f} "
            f"{result['rows']:5d} {result['runs']:5d} {result['cpu']:7.1f}"
        )
        sys.stdout.flush()
    print(f"load average after the searches: {_support.load_average()}")
    gc.enable()
    print()
    print("query plans (slowest query of each search, EXPLAIN ANALYZE):")
    for result in results:
        plan = _support.explain(result["sql"])
        print(f"- {result['name']}: {_support.plan_summary(plan, plan_node)}")
        if result["p95"] >= args.slow_ms:
            print("    " + result["sql"][:2000])
            for line in plan:
                print("    " + line)


# --- the export, in a process of its own so its peak RSS is its own ------------------------


def export_only() -> None:
    client = _support.logged_in_client(AUDITOR)
    rss_before = rss_mib()
    started = time.perf_counter()
    response = client.get("/audit/export.csv")
    chunks = response.streaming_content
    first_row_at = None
    rows = -1  # the header
    size = 0
    for chunk in chunks:
        rows += 1
        size += len(chunk)
        if rows == 1:
            first_row_at = time.perf_counter() - started
        if rows in (1, 1000, 10_000) or (rows and rows % 250_000 == 0):
            print(
                f"  export: {rows:,} rows after {time.perf_counter() - started:.1f} s, {memory()}", flush=True
            )
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"export.csv: {rows:,} rows, {size / 2**20:,.0f} MiB in {elapsed:.1f} s, "
        f"{rows / elapsed:,.0f} rows/s; first row after {first_row_at:.1f} s; "
        f"rss before {rss_before:.0f} MiB, peak {peak:.0f} MiB"
    )


def memory() -> str:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"rss {rss_mib():.0f} MiB, peak {peak:.0f} MiB"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_export(args: argparse.Namespace) -> None:
    print()
    command = [sys.executable, __file__, "--export-only", "--database-url", args.database_url]
    subprocess.run(command, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def main() -> None:
    args = parse_args()
    if args.export_only:
        _support.configure(args.database_url, models=MODELS)
        export_only()
        return
    _support.database_ready(args, models=MODELS, seed=seed)
    _support.indexes_put(INDEX_MIGRATION, present=not args.before_indexes)
    f = facts()
    print(
        f"{f['server']}; {f['total']:,} predictions from {f['first']:%Y-%m-%d} to {f['last']:%Y-%m-%d}, "
        f"{f['review_share']:.1%} routed to review, {f['decisions']:,} decisions; "
        f"audit indexes {'absent' if args.before_indexes else 'present'}"
    )
    run_searches(args, f)
    if not args.skip_export:
        run_export(args)


if __name__ == "__main__":
    main()
