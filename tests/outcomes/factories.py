"""Predictions made the way production makes them, for outcomes to be reported on; CSV files."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from predictions import services
from predictions.models import ApiKey, Prediction
from tests.predictions.helpers import post_json

OUTCOMES_URL = "/api/v1/outcomes/"
BATCH_URL = "/api/v1/outcomes/batch/"
UPLOAD_URL = "/outcomes/upload/"
HEADER = ["request_id", "label", "source", "occurred_at", "reference"]

_batches = itertools.count(1)


def predictions_made(*, records: list[dict], api_key: ApiKey | None) -> list[Prediction]:
    """Score the records as `api_key` (None: a person), each with a request_id of its own."""
    batch = next(_batches)
    predictions, _ = services.predictions_create_batch(
        api_key=api_key,
        items=[{"request_id": f"txn-{batch}-{n}", "features": row} for n, row in enumerate(records)],
    )
    return predictions


def report(client, **fields):
    return post_json(client, OUTCOMES_URL, fields)


def report_batch(client, items: list[dict]):
    return post_json(client, BATCH_URL, {"items": items})


def csv_file(path: Path, rows: list[list[str]], *, header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path
