"""Upstream traffic for bench/load.py: closed-loop clients scoring demo transactions."""

import os
import random
import uuid

from locust import FastHttpUser, constant, task

from predictions.training import DEMO_SCHEMA, frame_to_records, generate_transactions

POOL = frame_to_records(generate_transactions(rows=5_000, seed=99), DEMO_SCHEMA)
HEADERS = {"Authorization": f"Api-Key {os.environ['BENCH_API_KEY']}", "Content-Type": "application/json"}
# A batch takes ~0.5 s of a core: with a few kept-alive connections gthread workers can end up
# holding them all in one process, which then runs on one core. A new connection per batch
# lets the kernel spread them, so the run measures the server rather than that luck.
BATCH_HEADERS = {**HEADERS, "Connection": "close"}
MODE = os.environ.get("BENCH_MODE", "single")
BATCH_SIZE = int(os.environ.get("BENCH_BATCH_SIZE", "1000"))


class Upstream(FastHttpUser):
    wait_time = constant(0)

    @task
    def score(self) -> None:
        if MODE == "batch":
            items = [{"request_id": uuid.uuid4().hex, "features": f} for f in random.sample(POOL, BATCH_SIZE)]
            self.client.post(
                "/api/v1/predictions/batch/", json={"items": items}, headers=BATCH_HEADERS, name="batch"
            )
        else:
            body = {"request_id": uuid.uuid4().hex, "features": random.choice(POOL)}
            self.client.post("/api/v1/predictions/", json=body, headers=HEADERS, name="single")
