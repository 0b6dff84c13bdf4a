"""How scored predictions reach the database: the write on the scoring hot path.

Each prediction is three rows: the prediction, its explanation and its entry in the audit
chain's queue (the prediction is its own `created` evidence: predictions/evidence.py), written
in the caller's transaction. On PostgreSQL the three go in one prepared
statement, committed on its own: a few rows as one JSON document, many as one array per column,
bound on the server (nothing to quote) and planned once per connection. Through the ORM the
same write costs about 2 ms of Python per request and three round trips
(bench/README.md). Other databases (the SQLite demo) take the ORM path.

Single predictions of one process are committed in groups (SCORING_GROUP_COMMIT): a request
that finds no write in flight writes every row queued so far in one statement; the others wait
for that statement, and each answers only once its own row is committed. Under load a group
forms while the previous one is on its way to the server. A request the scoring route has begun
says so (`group_commit_expected`), and a group's leader waits for those rows to join, up to
SCORING_GROUP_WAIT_MS: a statement and its commit cost the server about 0.2 ms of CPU whatever
their rows, so fewer, fuller groups leave more of the machine to scoring (bench/README.md).
Alone, a request waits for nobody.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction

from audit.services import audit_enqueue_sql, audit_link_after_commit, audit_rows_enqueue
from predictions import metrics
from predictions.evidence import PREDICTION
from predictions.models import Explanation, Prediction


@dataclass(frozen=True)
class ScoredRow:
    """A prediction ready to store, with what its explanation holds."""

    prediction: Prediction
    base_value: float
    contributions: dict[str, float]


# The columns a scored row brings, with their types on the server: the prediction's, then its
# explanation's. Both ways rows travel, and the insert itself, are spelled from these (module
# constants only: no value ever reaches the SQL text).
_PREDICTION_COLUMNS = {
    "request_id": "text",
    "api_key_id": "bigint",
    "scored_by": "text",
    "model_version_id": "bigint",
    "features": "jsonb",
    "features_digest": "text",
    "score": "float8",
    "label": "text",
    "confidence": "float8",
    "routing": "text",
    "status": "text",
    "final_label": "text",
    "reason_codes": "jsonb",
    "routing_state": "text",
    "routing_enqueued_at": "timestamptz",
    "review_reason": "text",
    "inclusion_probability": "float8",
    "created_at": "timestamptz",
}
_JSON_COLUMNS = {name for name, kind in _PREDICTION_COLUMNS.items() if kind == "jsonb"}
_INCOMING_COLUMNS = {**_PREDICTION_COLUMNS, "base_value": "float8", "shap_values": "jsonb"}
_INCOMING_NAMES = ", ".join([*_INCOMING_COLUMNS, "ordinal"])

# The rows travel one of two ways, each the cheaper where it is used (bench/README.md):
# - a batch as one array per column (binary, so nothing is escaped), unnested on the server:
#   PostgreSQL reads 1,000 rows of arrays in a fraction of the time it parses them from JSON
#   (JSON columns travel as text and are cast per row: psycopg has no fast jsonb[] dumper);
_ARRAY_TYPES = ", ".join(
    f"%b::{'text' if kind == 'jsonb' else kind}[]" for kind in _INCOMING_COLUMNS.values()
)
_INCOMING_ARRAYS = f"SELECT * FROM unnest({_ARRAY_TYPES}) WITH ORDINALITY AS t({_INCOMING_NAMES})"  # noqa: S608
# - a commit group's few rows as one JSON document, an array of objects keyed by the columns:
#   psycopg binding twenty typed arrays cost a single prediction's request 8 % of its web time,
#   where orjson writes the whole group in microseconds.
_DOCUMENT_RECORD = ", ".join(f"{name} {kind}" for name, kind in _INCOMING_COLUMNS.items())
_INCOMING_DOCUMENT = (
    f"SELECT * FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({_DOCUMENT_RECORD}))"  # noqa: S608
    f" WITH ORDINALITY AS t({_INCOMING_NAMES})"
)
_INSERT_FROM_INCOMING = """
WITH incoming AS ({incoming}), predictions AS (
    INSERT INTO predictions_prediction ({columns})
    SELECT {values} FROM incoming ORDER BY ordinal
    {on_conflict}
    RETURNING id, request_id
), explanations AS (
    INSERT INTO predictions_explanation (prediction_id, base_value, "values", output, explainer, shap_version)
    SELECT predictions.id, incoming.base_value, incoming.shap_values::jsonb, 'log-odds', %s, %s
    FROM predictions JOIN incoming USING (request_id)
), queued AS (
    {audit_enqueue}
)
SELECT id, request_id FROM predictions
"""
_AUDIT_ENQUEUE = audit_enqueue_sql(
    select="SELECT %s, predictions.id FROM predictions ORDER BY predictions.id"
)
# A commit group holds independent requests: a request_id already stored skips its own row
# (its caller is told, as by the unique index) and lets the others commit. A skipped row gets
# neither an explanation nor a queue entry: those follow the inserted rows only.
_SKIP_STORED = "ON CONFLICT (request_id) DO NOTHING"


def _insert_sql(incoming: str, *, skip_stored: bool = False) -> str:
    on_conflict = _SKIP_STORED if skip_stored else ""
    return _INSERT_FROM_INCOMING.format(
        incoming=incoming,
        columns=", ".join(_PREDICTION_COLUMNS),
        # JSON arrives as text from arrays (cast) or as jsonb from a document (a no-op cast).
        values=", ".join(f"{name}::jsonb" if name in _JSON_COLUMNS else name for name in _PREDICTION_COLUMNS),
        audit_enqueue=_AUDIT_ENQUEUE,
        on_conflict=on_conflict,
    )


_INSERT = {"arrays": _insert_sql(_INCOMING_ARRAYS), "document": _insert_sql(_INCOMING_DOCUMENT)}
_INSERT_GROUP = {
    "arrays": _insert_sql(_INCOMING_ARRAYS, skip_stored=True),
    "document": _insert_sql(_INCOMING_DOCUMENT, skip_stored=True),
}
# Up to this many rows go as a document (a commit group, a small batch), more as arrays.
_DOCUMENT_MAX_ROWS = 50


def scored_rows_insert(*, rows: list[ScoredRow], explainer: str, shap_version: str) -> None:
    """Insert the rows with their explanations and audit queue entries, all or none; sets the pks.

    A request_id already stored raises IntegrityError and leaves the caller's transaction usable.
    The rows are counted in the metrics once written (the scoring paths hold no transaction).
    """
    if connection.vendor != "postgresql":
        with transaction.atomic():
            _insert_orm(rows, explainer, shap_version)
    elif connection.in_atomic_block:
        with transaction.atomic():  # a savepoint, so a duplicate does not abort the caller's work
            _insert_postgresql(rows, explainer, shap_version)
    elif len(rows) == 1 and settings.SCORING_GROUP_COMMIT:
        # Counted by the group's leader, with the rest of its group.
        _stored(rows[0].prediction, _group_commit.write(_Pending(rows[0], explainer, shap_version)))
        audit_link_after_commit()
        return
    else:
        # One statement in autocommit is its own transaction: no BEGIN and COMMIT round trips.
        _insert_postgresql(rows, explainer, shap_version)
    metrics.predictions_observe(predictions=[row.prediction for row in rows])


def _insert_postgresql(rows: list[ScoredRow], explainer: str, shap_version: str) -> None:
    ids = _execute_reconnecting(*_statement(_INSERT, rows, explainer, shap_version))
    for row in rows:
        _stored(row.prediction, ids[row.prediction.request_id])
    audit_link_after_commit()


def _statement(
    forms: dict[str, str], rows: list[ScoredRow], explainer: str, shap_version: str
) -> tuple[str, list[Any]]:
    """The statement that inserts these rows, in the form that suits their number, and its parameters."""
    if len(rows) <= _DOCUMENT_MAX_ROWS:
        return forms["document"], _document(rows, explainer, shap_version)
    return forms["arrays"], _arrays(rows, explainer, shap_version)


def _arrays(rows: list[ScoredRow], explainer: str, shap_version: str) -> list[Any]:
    """_INCOMING_ARRAYS's parameters: one array per column, then the constants."""
    predictions = [row.prediction.__dict__ for row in rows]  # every column is set: Prediction.scored
    columns = [
        *(
            [_json_text(p[name]) if name in _JSON_COLUMNS else p[name] for p in predictions]
            for name in _PREDICTION_COLUMNS
        ),
        [row.base_value for row in rows],
        [_json_text(row.contributions) for row in rows],
    ]
    return [*columns, explainer, shap_version, PREDICTION]


def _document(rows: list[ScoredRow], explainer: str, shap_version: str) -> list[Any]:
    """_INCOMING_DOCUMENT's parameters: the rows as one JSON document, then the constants."""
    document = []
    for row in rows:
        values = row.prediction.__dict__  # every column is set: Prediction.scored
        entry = {name: values[name] for name in _PREDICTION_COLUMNS}
        entry["base_value"] = row.base_value
        entry["shap_values"] = row.contributions
        document.append(entry)
    return [_json_text(document), explainer, shap_version, PREDICTION]


def _stored(prediction: Prediction, pk: int) -> None:
    prediction.pk = pk
    prediction._state.adding = False


# --- group commit --------------------------------------------------------------------------


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Pending:
    """One request's row on its way into a commit group, and what became of it."""

    row: ScoredRow
    explainer: str
    shap_version: str
    done: bool = False
    pk: int | None = None
    error: BaseException | None = None
    # Held from the start; its request waits to acquire it. Released once: when the row is
    # done, or when the request is to lead the next group.
    wake: threading.Lock = field(default_factory=_held_lock)

    @property
    def request_id(self) -> str:
        return self.row.prediction.request_id

    @property
    def explained_by(self) -> tuple[str, str]:
        return self.explainer, self.shap_version


class _GroupCommit:
    """The rows of concurrent requests in one process, written by one statement per group.

    Leader and followers: a request that finds no statement in flight writes every pending row
    (its own among them) on its own connection, wakes the requests whose rows it wrote and
    hands the lead to the first one still queued; a request that finds a statement in flight
    queues its row and waits. Each returns once its row is committed, or raises what the
    database said of it: an IntegrityError for a request_id already stored (the caller answers
    it as a repeat, as without grouping), the connection's error for everyone in the group when
    the database cannot be reached.

    Each waiting request has a lock of its own, released once for it, rather than one
    condition all of them wait on: notify_all woke every waiting thread to find its row not
    yet written, 5 % of a single prediction's web time (bench/README.md).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the queue, the lead and the expected rows
        self._queue: list[_Pending] = []
        self._writing = False
        # Requests under way in the scoring route whose rows have not joined the queue yet
        # (group_commit_expected), and, while a leader waits for them, the lock it waits on.
        self._expected = 0
        self._gathered: threading.Lock | None = None
        self._local = threading.local()  # .expected: this thread's request is counted above

    def expect(self) -> None:
        """The calling thread's request will probably write a row soon."""
        if getattr(self._local, "expected", False):  # counted once however often it is said
            return
        with self._lock:
            self._expected += 1
        self._local.expected = True

    def unexpect(self) -> None:
        """The calling thread's request is over; if its row never joined, stop waiting for it."""
        if getattr(self._local, "expected", False):
            with self._lock:
                self._row_arrived()

    def _row_arrived(self) -> None:
        # Under self._lock: one expected row joined the queue, or will not come.
        self._local.expected = False
        self._expected -= 1
        if self._expected == 0 and self._gathered is not None:
            self._gathered.release()
            self._gathered = None

    def write(self, pending: _Pending) -> int:
        """Store the row; return its primary key once it is committed."""
        with self._lock:
            if getattr(self._local, "expected", False):
                self._row_arrived()
            self._queue.append(pending)
            leading = not self._writing
            self._writing = True
        if not leading:
            pending.wake.acquire()  # its row is done, or it leads the next group
        if not pending.done:
            self._write_group(leader=pending)
        if pending.error is not None:
            # A copy per request: the waiting threads raise it at once, each with its own traceback.
            raise copy.copy(pending.error) from pending.error
        assert pending.pk is not None  # a done row has a key or an error
        return pending.pk

    def _write_group(self, *, leader: _Pending) -> None:
        self._gather()
        with self._lock:
            group = self._take_group()
        # A leader is the first queued (it found the queue empty, or was handed the lead as its
        # first), so its row is the first of the group.
        assert group[0] is leader
        try:
            _group_write(group)
        finally:  # also when the process is stopping: nobody waits for ever
            for waiting in group[1:]:  # done, with a key or an error
                waiting.wake.release()
            with self._lock:
                successor = self._queue[0] if self._queue else None
                self._writing = successor is not None
            if successor is not None:
                successor.wake.release()  # it leads the next group, its own row first in it
        # The group's committed rows counted at once, by its leader, once the others are on
        # their way: a count costs about as much for one row as for a group (bench/README.md).
        metrics.predictions_observe(predictions=[p.row.prediction for p in group if p.pk is not None])

    def _gather(self) -> None:
        """Wait for the rows of requests under way, up to SCORING_GROUP_WAIT_MS, before writing.

        The wait ends when the last of them joins the queue (or its request ends without a
        row): in one process the requests under way take turns on the GIL, so they are a few
        hundred microseconds each from their rows.
        """
        with self._lock:
            if not self._expected:
                return
            gathered = self._gathered = _held_lock()
        gathered.acquire(timeout=settings.SCORING_GROUP_WAIT_MS / 1000)
        with self._lock:
            if self._gathered is gathered:  # timed out: nobody released it
                self._gathered = None

    def _take_group(self) -> list[_Pending]:
        # Two requests with one request_id go in different groups, so the second finds the
        # first stored (one statement cannot tell which of the two it kept). A statement names
        # one explainer: rows explained by another model (one just activated) wait their turn.
        group: list[_Pending] = []
        later: list[_Pending] = []
        seen: set[str] = set()
        explained_by = self._queue[0].explained_by
        for pending in self._queue:
            if (
                pending.request_id in seen
                or pending.explained_by != explained_by
                or len(group) >= _GROUP_MAX_ROWS
            ):
                later.append(pending)
            else:
                seen.add(pending.request_id)
                group.append(pending)
        self._queue = later
        return group


# A group's statement carries its rows in one document; far above what one process's
# concurrent requests queue.
_GROUP_MAX_ROWS = 500


class group_commit_expected:  # lower case: used as a function, `with group_commit_expected():`
    """Around a scoring request that will probably store one row: its group's leader waits for it.

    A class rather than a generator-based context manager: this runs on every scoring request.
    """

    def __enter__(self) -> None:
        if settings.SCORING_GROUP_COMMIT and settings.SCORING_GROUP_WAIT_MS > 0:
            _group_commit.expect()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        _group_commit.unexpect()  # nothing to undo unless this thread's request was counted


def _group_write(group: list[_Pending]) -> None:
    """Write a group, giving each pending row a key or an error."""
    metrics.commit_group_observe(rows=len(group))
    try:
        _group_insert(group)
    except Exception as error:
        if len(group) > 1 and _refused_row(error):
            # One row the server refuses must not fail the requests it was grouped with.
            for pending in group:
                _group_write([pending])
        else:  # the connection's failure, or a fault of ours: nobody's row is written
            for pending in group:
                pending.error = error
    except BaseException as error:  # the process is stopping: nobody waits for ever
        for pending in group:
            pending.error = error
        raise
    finally:
        for pending in group:
            pending.done = True


def _refused_row(error: Exception) -> bool:
    # Data errors and constraint violations belong to a row; a lost connection to everyone.
    return isinstance(error, DatabaseError) and not isinstance(error, OperationalError | InterfaceError)


def _group_insert(group: list[_Pending]) -> None:
    explainer, shap_version = group[0].explained_by  # the same for the whole group
    rows = [pending.row for pending in group]
    ids = _execute_reconnecting(*_statement(_INSERT_GROUP, rows, explainer, shap_version))
    for pending in group:
        pending.pk = ids.get(pending.request_id)
        if pending.pk is None:
            pending.error = IntegrityError(f"request_id {pending.request_id!r} is already stored")


_group_commit = _GroupCommit()


def _execute_reconnecting(sql: str, params: list[Any]) -> dict[str, int]:
    """Run the statement; return the stored rows' keys by request_id. On a connection that died
    since its last use, reconnect and run it once more.

    Django's health check would cost a `SELECT 1` round trip on every request. Retrying is
    safe: a statement that never reached the server stored nothing, and one that committed
    before the connection broke makes the retry fail on its request_id, which the caller
    answers as a repeat. Inside a transaction there is nothing to retry on: it is lost.
    """
    connection.ensure_connection()
    try:
        return _execute(sql, params)
    except OperationalError:
        if connection.in_atomic_block or not connection.connection.broken:
            raise
    connection.close()
    connection.ensure_connection()
    return _execute(sql, params)


def _execute(sql: str, params: list[Any]) -> dict[str, int]:
    # Django's cursors bind on the client; this one binds on the server and, unless
    # DATABASE_PREPARED_STATEMENTS is off, prepares the statement on its first use.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return {request_id: pk for pk, request_id in cursor.fetchall()}


def _json_text(value: Any) -> str:
    # The server parses it, so only the values count, not their spelling. orjson writes a
    # group in microseconds; json.dumps took ~60 a row (floats are slow). Times go as ISO 8601.
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # integers beyond 64 bits, which a user's schema may allow
        return json.dumps(value, default=datetime.isoformat)


def _insert_orm(rows: list[ScoredRow], explainer: str, shap_version: str) -> None:
    created = Prediction.objects.bulk_create([row.prediction for row in rows])
    Explanation.objects.bulk_create(
        Explanation(
            prediction_id=prediction.pk,  # not the object: the two would cache each other, a cycle
            base_value=row.base_value,
            values=row.contributions,
            explainer=explainer,
            shap_version=shap_version,
        )
        for prediction, row in zip(created, rows, strict=True)
    )
    audit_rows_enqueue(source=PREDICTION, object_ids=[prediction.pk for prediction in created])
