import argparse
import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import cli_actor
from lifecycle import approvals, retraining
from predictions import services, training
from predictions.models import ModelVersion
from reviewapp.errors import DomainError


class Command(BaseCommand):
    help = (
        "Train a model on demo data, a CSV or (--from-outcomes) the stored predictions labelled by "
        "outcomes and reviews; register it as a new version, optionally activate or shadow it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000, help="Demo rows to generate")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--csv", type=Path, help="Train on this CSV instead of demo data")
        parser.add_argument("--target", help="With --csv: the 0/1 label column")
        parser.add_argument("--time-column", help="With --csv: sort by this column (default: file order)")
        parser.add_argument(
            "--schema", type=Path, help="JSON feature schema to use instead of the inferred one"
        )
        parser.add_argument("--write-schema", type=Path, help="Write the schema used to this file, to edit")
        parser.add_argument("--name", default="card-fraud", help="Model family name")
        parser.add_argument("--activate", action="store_true", help="Activate the new version")
        retrain = parser.add_argument_group("retraining from what the product learned (docs/lifecycle.md)")
        retrain.add_argument(
            "--from-outcomes",
            action="store_true",
            help="Train on stored predictions labelled by their outcomes; registers a staged version",
        )
        retrain.add_argument(
            "--since",
            type=_date,
            help=f"With --from-outcomes: predictions made on or after this date (YYYY-MM-DD, UTC; "
            f"default {settings.RETRAIN_WINDOW_DAYS} days ago)",
        )
        retrain.add_argument(
            "--include-reviews",
            action="store_true",
            help="With --from-outcomes: where no outcome arrived, use the analyst's final label",
        )
        retrain.add_argument(
            "--shadow", action="store_true", help="With --from-outcomes: start the new version shadowing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_outcomes"]:
            self._from_outcomes(options)
            return
        for flag in ("since", "include_reviews", "shadow"):
            if options[flag]:
                raise CommandError(f"--{flag.replace('_', '-')} goes with --from-outcomes")
        frame, schema, target, info = self._data(options)
        if options["write_schema"]:
            options["write_schema"].write_text(json.dumps(schema, indent=2))
        self.stdout.write(f"training on {len(frame)} rows, {len(schema)} features ...")
        try:
            result = training.train(
                frame=frame,
                schema=schema,
                target=target,
                seed=options["seed"],
                review_threshold=settings.REVIEW_CONFIDENCE_THRESHOLD,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        version = services.model_version_register(name=options["name"], result=result, training_info=info)
        self.stdout.write(f"registered {version.name} v{version.version} sha256={version.sha256[:16]}…")
        for metric, value in result.metrics.items():
            self.stdout.write(f"  {metric:>20}: {value}")
        if options["activate"]:
            self._activate(version.version)

    def _activate(self, version: int) -> None:
        # Through the promotion gate like every activation: the first version goes live at once;
        # a new one beside an active version has not shadowed yet, so it stays staged.
        try:
            approvals.model_version_promote(version=version, actor=cli_actor())
        except DomainError as error:
            raise CommandError(
                f"v{version} is registered but not activated: {approvals.error_message(error)} "
                f"Shadow it first (manage.py shadow_model {version}), or manage.py activate_model "
                f"{version} --force --reason TEXT."
            ) from None
        self.stdout.write(self.style.SUCCESS(f"activated v{version}"))

    def _from_outcomes(self, options: dict[str, Any]) -> None:
        if options["activate"]:
            # A version trained on what the product learned is promoted on evidence: it shadows
            # live traffic first, then passes the promotion gate (docs/lifecycle.md).
            raise CommandError(
                "--from-outcomes never activates: add --shadow, then activate it through the promotion gate"
            )
        for flag in ("csv", "target", "time_column", "schema", "write_schema"):
            if options[flag]:
                raise CommandError(f"--{flag.replace('_', '-')} does not go with --from-outcomes")
        since = options["since"] or retraining.retrain_window_start()
        try:
            version = retraining.model_version_retrain(
                since=since,
                include_reviews=options["include_reviews"],
                actor=cli_actor(),
                shadow=options["shadow"],
                seed=options["seed"],
            )
        except retraining.RetrainRefused as error:
            raise CommandError(_message(error)) from error
        self._report(version)

    def _report(self, version: ModelVersion) -> None:
        info = version.training_info
        self.stdout.write(
            f"registered {version.name} v{version.version} sha256={version.sha256[:16]}… "
            f"({version.get_status_display().lower()})"
        )
        self.stdout.write(
            f"  trained on {info['training_rows']} rows ({info['training_weighted_rows']} weighted), "
            f"measured on {info['holdout_rows']} made from "
            f"{datetime.fromisoformat(info['split_at']):%Y-%m-%d %H:%M %Z}; "
            f"{info['excluded_late_labels']} left out whose label came after that"
        )
        for metric, value in version.metrics.items():
            self.stdout.write(f"  {metric:>20}: {value}")

    def _data(
        self, options: dict[str, Any]
    ) -> tuple[pd.DataFrame, list[dict[str, Any]], str, dict[str, Any]]:
        if not options["csv"]:
            frame = training.generate_transactions(rows=options["rows"], seed=options["seed"])
            info = {"source": "demo generator", "rows": len(frame), "seed": options["seed"]}
            return frame, training.DEMO_SCHEMA, "is_fraud", info
        if not options["target"]:
            raise CommandError("--csv needs --target COLUMN")
        try:
            frame = pd.read_csv(options["csv"])
        except (OSError, ValueError) as error:
            raise CommandError(f"cannot read {options['csv']}: {error}") from error
        target, time_column = options["target"], options["time_column"]
        for column in filter(None, [target, time_column]):
            if column not in frame.columns:
                raise CommandError(f"column {column!r} is not in {options['csv']}")
        if time_column:
            frame = frame.sort_values(time_column, kind="stable")
        features = frame.drop(columns=[c for c in (target, time_column) if c])
        if options["schema"]:
            schema = json.loads(options["schema"].read_text())
        else:
            try:
                schema = training.infer_schema(features)
            except ValueError as error:
                raise CommandError(str(error)) from error
        missing = [spec["name"] for spec in schema if spec["name"] not in frame.columns]
        if missing:
            raise CommandError(f"schema names columns missing from the CSV: {', '.join(missing)}")
        _refuse_missing_values(frame, [*(spec["name"] for spec in schema), target], options["csv"])
        info = {
            "source": str(options["csv"]),
            "rows": len(frame),
            "target": target,
            "time_column": time_column,
        }
        return frame, schema, target, info


def _refuse_missing_values(frame: pd.DataFrame, columns: list[str], source: Path) -> None:
    # The API refuses a missing feature, so no model may learn from one; and the reference
    # distributions of a column with gaps would hold NaN, which no JSON column stores.
    gaps = {column: int(count) for column, count in frame[columns].isna().sum().items() if count}
    if gaps:
        listed = ", ".join(f"{column} ({count} rows)" for column, count in gaps.items())
        raise CommandError(f"{source} has missing values in {listed}; fill or drop those rows first")


def _date(value: str) -> datetime:
    """A YYYY-MM-DD date as the start of that day in UTC."""
    try:
        return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _message(error: retraining.RetrainRefused) -> str:
    return "; ".join(
        f"{name}: {' '.join(problems)}" if name != "detail" else str(problems)
        for name, problems in error.errors.items()
    )
