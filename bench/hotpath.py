"""CPU of one scoring request inside the web process, without the HTTP server, the client or the noise.

`bench/load.py` measures the whole machine under load, where a change of a few per cent in one
process is lost in the spread between rounds (±10 %) and py-spy's samples lean towards code
making system calls (bench/README.md, tenth pass). This calls the WSGI application that
granian serves (`reviewapp.wsgi.application`, loaded as in a worker, settings as
`bench/load.py` sets them) with the same requests wrk sends, one at a time on one thread,
and reports the process's CPU per request: user and system time, the median of several rounds
of many requests each. PostgreSQL's time is not in it (each request waits for its commit, as
served); a request is its own commit group.

    .venv/bin/python bench/hotpath.py --requests 3000 --rounds 5
    .venv/bin/python bench/hotpath.py --both-routes    # the lean route and the full one, by turns
    .venv/bin/python bench/hotpath.py --steps          # and where the lean route's CPU goes
    .venv/bin/python bench/hotpath.py --batch 1000 --requests 15 --rounds 3 --steps   # batches, by step

`--batch N` sends batches of N transactions to `POST /api/v1/predictions/batch/` instead; the
figures are then per batch. Every run also reports the garbage collector's share (its passes
timed through `gc.callbacks`), which py-spy's samples put on whatever code allocated last.

`--both-routes` alternates rounds of the lean route with rounds of the full one
(SCORING_FAST_PATH off: Django's handler, every middleware, DRF) in the same process, so both
see the same machine. To compare two versions, run it from each checkout in turn (A B B A),
on one virtualenv.

`--steps` also times each step of the lean route where the route calls it (the thread's CPU,
inclusive of the steps it calls; STEPS below) and prints them per request after the rounds.
Its timers cost about a microsecond a step, so compare totals without it. Timed in place, a
step costs two to four times what it costs in a loop of its own: a request touches much code
and data, and each step starts with colder caches.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import create_database, environment, manage  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="requests a round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--warmup", type=int, help="requests before the first round (default: 500, or 3 batches)"
    )
    parser.add_argument("--both-routes", action="store_true", help="alternate the lean and the full route")
    parser.add_argument("--steps", action="store_true", help="time each step of the lean route too")
    parser.add_argument("--batch", type=int, default=0, help="transactions a batch request (0: single rows)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/reviewapp_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = 3 if args.batch else 500
    if args.steps and args.both_routes:
        parser.error("--steps times the lean route: not with --both-routes")
    return args


def bodies(count: int, *, batch: int = 0) -> list[bytes]:
    """`count` request bodies: single transactions, or batches of `batch` of them."""
    from predictions.training import DEMO_SCHEMA, frame_to_records, generate_transactions

    records = frame_to_records(generate_transactions(rows=count * max(batch, 1), seed=99), DEMO_SCHEMA)
    tag = uuid.uuid4().hex[:12]
    items = [{"request_id": f"hot-{tag}-{n}", "features": r} for n, r in enumerate(records)]
    if batch:
        return [
            json.dumps({"items": items[start : start + batch]}, separators=(",", ":")).encode()
            for start in range(0, len(items), batch)
        ]
    return [json.dumps(item, separators=(",", ":")).encode() for item in items]


# Where a lean-route request's CPU goes, step by step (--steps): each is looked up where the
# route calls it, and timed inclusively (a step's figure holds the steps it calls).
STEPS = (
    ("predictions.api.fast", "ScoringFront.__call__", "the whole request, in the front"),
    ("predictions.api.fast", "WSGIRequest", "the request object"),
    ("predictions.api.fast", "_caller_key", "Host check and API key"),
    ("django.http.request", "HttpRequest.get_host", "  Host checked"),
    ("predictions.api.authentication", "ApiKeyAuthentication.authenticate", "  API key authenticated"),
    ("predictions.persistence", "group_commit_expected.__enter__", "expected by its commit group"),
    ("reviewapp.api.throttling", "CallerRateThrottle.allow_request", "rate limit"),
    ("predictions.api.fast", "JSONParser.parse", "JSON body parsed"),
    ("predictions.api.views", "PredictionBatchView.post", "the batch view"),
    ("predictions.services", "predictions_create_batch", "the service: validate, score, store"),
    ("predictions.services", "_validated_candidates", "  features validated and digested"),
    ("predictions.scoring", "Scorer.score", "  scoring and SHAP"),
    ("predictions.services", "_prediction_row", "  the prediction's row built"),
    ("predictions.services", "scored_rows_insert", "  stored: group commit, statement, count"),
    ("predictions.persistence", "_execute", "    the statement (psycopg's execute)"),
    ("predictions.metrics", "predictions_observe", "    the predictions counted"),
    ("predictions.api.serializers", "prediction_representation", "the answer's fields"),
    ("predictions.api.fast", "JSONRenderer.render", "the answer's JSON"),
    ("predictions.api.fast", "HttpResponse", "the response object"),
    ("django.middleware.security", "SecurityMiddleware.process_request", "HTTPS redirect checked"),
    ("django.middleware.security", "SecurityMiddleware.process_response", "security headers"),
    ("reviewapp.metrics", "route_name", "the route named"),
    ("reviewapp.middleware", "_log_access", "the access line"),
    ("reviewapp.metrics", "request_observe", "the request counted"),
    ("predictions.persistence", "group_commit_expected.__exit__", "its commit group told it ended"),
    ("reviewapp.wsgi", "application.connections_tidy", "connections tidied"),
)


def steps_timed() -> dict[str, list[int]]:
    """Wrap each step with a timer of the calling thread's CPU; returns the running totals."""
    totals: dict[str, list[int]] = {}
    for module_name, path, label in STEPS:
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        totals[label] = total = [0, 0]  # nanoseconds, calls
        setattr(owner, name, _timed(getattr(owner, name), total))
    return totals


def gc_timed() -> list[int]:
    """The garbage collector's time so far, in nanoseconds (a running total, reset by the caller)."""
    total, started = [0], [0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter_ns()
        else:
            total[0] += time.perf_counter_ns() - started[0]

    gc.callbacks.append(callback)
    return total


def _timed(function: Any, total: list[int]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            total[0] += time.thread_time_ns() - started
            total[1] += 1

    # A class (the request and response objects) is timed where the route calls it, and
    # stands in for nothing else: it keeps no attributes of its own.
    return timed if isinstance(function, type) else functools.wraps(function)(timed)


def environ_for(body: bytes, api_key: str, *, batch: bool = False) -> dict[str, Any]:
    """What granian hands the application for wrk's request (bench/wrk_scoring.lua)."""
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/api/v1/predictions/batch/" if batch else "/api/v1/predictions/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Api-Key {api_key}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="reviewapp-hotpath-"))
    env = environment(args, workdir)
    Path(env["STATIC_ROOT"]).mkdir()
    create_database(args.database_url)
    manage(env, "migrate", "--noinput")
    manage(env, "ensure_model")
    api_key = manage(env, "create_api_key", f"hotpath-{int(time.time())}").strip()
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    # Multiprocess metrics, as in a web server's worker (serve.py sets the directory).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(workdir / "metrics")
    (workdir / "metrics").mkdir()
    import logging

    # Made before the application loads: the generator's imports (pandas) are then frozen with
    # the rest at start, as a server's clients are not in its process at all.
    pool_bodies = bodies(
        (args.warmup + args.requests * args.rounds) * (2 if args.both_routes else 1), batch=args.batch
    )
    from reviewapp.wsgi import application

    # The access line is written, as served, to where bench/load.py sends it: nowhere.
    for handler in logging.getLogger().handlers + logging.getLogger("reviewapp.access").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115  (lives as long as the process)

    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses.append(status)

    def serve(body: bytes) -> None:
        result = application(environ_for(body, api_key, batch=bool(args.batch)), start_response)
        b"".join(result)
        if hasattr(result, "close"):  # PEP 3333: the server closes what it is given
            result.close()

    from django.conf import settings

    routes = {"lean": True, "full": False} if args.both_routes else {"served": settings.SCORING_FAST_PATH}
    pool = iter(pool_bodies)
    for lean in routes.values():
        settings.SCORING_FAST_PATH = lean
        for _ in range(args.warmup):
            serve(next(pool))
    steps = steps_timed() if args.steps else {}
    collecting = gc_timed()
    per_request: dict[str, list[tuple[float, float, float, float]]] = {route: [] for route in routes}
    for round_number in range(args.rounds):
        for route, lean in routes.items():
            settings.SCORING_FAST_PATH = lean
            collecting[0] = 0
            cpu_before, wall_before = os.times(), time.perf_counter()
            for _ in range(args.requests):
                serve(next(pool))
            cpu_after, wall_after = os.times(), time.perf_counter()
            user = (cpu_after.user - cpu_before.user) / args.requests * 1e6
            system = (cpu_after.system - cpu_before.system) / args.requests * 1e6
            wall = (wall_after - wall_before) / args.requests * 1e6
            collected = collecting[0] / args.requests / 1000
            per_request[route].append((user, system, wall, collected))
            print(
                f"round {round_number + 1}, {route} route: user {user:.0f} us, system {system:.0f} us, "
                f"wall {wall:.0f} us, garbage collector {collected:.0f} us a request"
            )
    refused = [s for s in statuses if not s.startswith("201")]
    if refused:
        raise SystemExit(f"{len(refused)} requests not answered 201, e.g. {refused[0]}")
    for route, figures in per_request.items():
        user, system, wall, collected = (statistics.median(column) for column in zip(*figures, strict=True))
        print(
            f"HOTPATH route={route} requests={args.requests}x{args.rounds} cpu_us={user + system:.0f} "
            f"user_us={user:.0f} system_us={system:.0f} wall_us={wall:.0f} gc_us={collected:.0f}"
        )
    served = args.requests * args.rounds
    for label, (nanoseconds, calls) in steps.items():
        print(f"STEP {label:44s} {nanoseconds / served / 1000:7.1f} us a request ({calls} calls)")


if __name__ == "__main__":
    main()
