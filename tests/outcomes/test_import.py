"""Importing outcomes from a file: good rows stored, bad rows reported by line, a row at a time."""

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from audit.actors import cli_actor
from audit.models import AuditEvent
from outcomes import services
from outcomes.imports import ImportRow, UnreadableFile, csv_rows, text_stream
from outcomes.models import Outcome
from tests.outcomes.factories import csv_file


def run_import(path) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_outcomes", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def three(make_predictions):
    return make_predictions(3)


def test_it_stores_every_good_row_and_prints_a_summary(tmp_path, three):
    path = csv_file(
        tmp_path / "outcomes.csv",
        [
            [three[0].request_id, "fraud", "chargeback", "2026-11-20T10:00:00Z", "dispute-1"],
            [three[1].request_id, "legit", "", "", ""],
            [three[2].request_id, "fraud", "investigation", "2026-11-21T08:15:00+01:00", "case 9"],
        ],
    )
    out, err = run_import(path)

    assert out.strip() == "3 stored, 0 unchanged, 0 bad rows"
    assert err == ""
    stored = {o.prediction_id: o for o in Outcome.objects.all()}
    assert (stored[three[0].pk].label, stored[three[0].pk].source, stored[three[0].pk].reference) == (
        "fraud",
        "chargeback",
        "dispute-1",
    )
    assert stored[three[0].pk].occurred_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert (stored[three[1].pk].source, stored[three[1].pk].reference) == ("other", "")
    assert stored[three[2].pk].occurred_at == datetime(2026, 11, 21, 7, 15, tzinfo=UTC)
    assert {o.reported_by for o in stored.values()} == {cli_actor()}
    assert {o.api_key_id for o in stored.values()} == {None}


def test_each_imported_outcome_is_an_audit_event(tmp_path, three):
    path = csv_file(tmp_path / "o.csv", [[p.request_id, "fraud", "", "", ""] for p in three])
    run_import(path)

    events = AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED)
    outcomes = {str(o.pk): o for o in Outcome.objects.select_related("prediction")}
    assert events.count() == 3
    for event in events:
        outcome = outcomes[event.object_id]
        assert (event.actor, event.object_type) == (cli_actor(), "outcome")
        assert event.request_id == outcome.prediction.request_id
        assert event.after["label"] == "fraud"
        assert event.after["occurred_at"] == outcome.occurred_at.isoformat()


def test_it_reports_bad_rows_with_their_line_and_reason_and_stores_the_rest(tmp_path, three, api_client):
    ok = three[0].request_id
    path = csv_file(
        tmp_path / "outcomes.csv",
        [
            [ok, "fraud", "chargeback", "", "d-1"],  # line 2: stored
            [three[1].request_id, "maybe", "", "", ""],  # 3
            ["never-scored", "fraud", "", "", ""],  # 4
            [three[1].request_id, "fraud", "gossip", "", ""],  # 5
            [three[1].request_id, "fraud", "", "2999-01-01T00:00:00Z", ""],  # 6
            [three[1].request_id, "fraud", "", "last tuesday", ""],  # 7
            [three[1].request_id, "fraud", "", "", "r" * 129],  # 8
            ["", "fraud", "", "", ""],  # 9
            [three[1].request_id, "fraud", "", "", "nul\x00"],  # 10
            [three[2].request_id, "legit", "", "", ""],  # 11: stored
        ],
    )
    out, err = run_import(path)

    assert out.strip() == "2 stored, 0 unchanged, 8 bad rows"
    lines = err.strip().splitlines()
    assert lines == [
        'line 3: label: "maybe" is not a valid choice.',
        "line 4: request_id: There is no prediction with this request_id.",
        'line 5: source: "gossip" is not a valid choice.',
        "line 6: occurred_at: Must not be in the future.",
        "line 7: occurred_at: Not a date and time: use ISO 8601, e.g. 2026-11-27T14:05:00Z.",
        "line 8: reference: Ensure this field has no more than 128 characters.",
        "line 9: request_id: This field is required.",
        "line 10: reference: Null characters are not allowed.",
    ]
    assert set(Outcome.objects.values_list("prediction_id", flat=True)) == {three[0].pk, three[2].pk}


def test_a_repeat_row_is_unchanged_and_a_conflicting_one_is_bad(tmp_path, three):
    rows = [[p.request_id, "fraud", "chargeback", "2026-11-20T10:00:00Z", "d-1"] for p in three]
    run_import(csv_file(tmp_path / "first.csv", rows))
    rows[1][1] = "legit"
    rows[2][3] = "2026-11-20T11:00:00Z"
    out, err = run_import(csv_file(tmp_path / "again.csv", rows))

    assert out.strip() == "0 stored, 1 unchanged, 2 bad rows"
    conflicts = "Conflicts with the stored outcome: "
    assert err.strip().splitlines() == [
        f"line 3: {conflicts}label: This outcome is already recorded with the label 'fraud'.",
        f"line 4: {conflicts}occurred_at: This outcome is already recorded as occurring at "
        "2026-11-20T10:00:00+00:00.",
    ]
    assert Outcome.objects.count() == 3
    assert set(Outcome.objects.values_list("label", flat=True)) == {"fraud"}
    assert AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED).count() == 3


def test_a_row_repeating_an_earlier_row_of_the_file_is_unchanged_or_bad(tmp_path, prediction):
    row = [prediction.request_id, "fraud", "chargeback", "", "d-1"]
    path = csv_file(tmp_path / "o.csv", [row, row, [*row[:1], "legit", *row[2:]]])
    out, err = run_import(path)

    assert out.strip() == "1 stored, 1 unchanged, 1 bad rows"
    assert (
        err.strip()
        == "line 4: Conflicts with line 2: label: This outcome is already recorded with the label 'fraud'."
    )
    assert Outcome.objects.count() == 1


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(tmp_path, three):
    text = (
        "request_id,label,source,occurred_at,reference\n"
        f'{three[0].request_id},fraud,,,"a reference\nover two lines"\n'
        "\n"
        f"{three[1].request_id},maybe,,,\n"
        f"{three[2].request_id},legit\n"
    )
    path = tmp_path / "o.csv"
    path.write_text(text)
    out, err = run_import(path)

    assert out.strip() == "1 stored, 0 unchanged, 2 bad rows"
    assert err.strip().splitlines() == [
        'line 5: label: "maybe" is not a valid choice.',
        "line 6: Has 2 fields; the header names 5.",
    ]
    assert Outcome.objects.get().reference == "a reference\nover two lines"


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out(tmp_path, prediction):
    path = csv_file(tmp_path / "o.csv", [["legit", prediction.request_id]], header=["Label", " request_id "])
    out, _ = run_import(path)

    assert out.strip() == "1 stored, 0 unchanged, 0 bad rows"
    assert Outcome.objects.get().label == "legit"


def test_a_spreadsheets_byte_order_mark_is_not_part_of_the_first_column(tmp_path, prediction):
    path = tmp_path / "o.csv"
    path.write_bytes(f"request_id,label\r\n{prediction.request_id},fraud\r\n".encode("utf-8-sig"))
    out, _ = run_import(path)

    assert out.strip() == "1 stored, 0 unchanged, 0 bad rows"


def test_a_row_that_is_not_utf8_is_a_bad_row(tmp_path, three):
    path = tmp_path / "o.csv"
    rows = [
        f"{three[0].request_id},fraud\n".encode(),
        b"\xff\xfe,legit\n",
        f"{three[1].request_id},legit\n".encode(),
    ]
    path.write_bytes(b"request_id,label\n" + b"".join(rows))
    out, err = run_import(path)

    assert out.strip() == "2 stored, 0 unchanged, 1 bad rows"
    assert err.strip() == "line 3: Not UTF-8 text."
    assert Outcome.objects.count() == 2


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "The file is empty"),
        ("request_id,label,ocurred_at\n", "Unknown columns 'ocurred_at'"),
        ("request_id,source\n", "lacks the columns label"),
        ("request_id,label,label\n", "names label more than once"),
    ],
)
def test_a_file_without_a_usable_header_is_refused_whole(tmp_path, db, header, message):
    path = tmp_path / "o.csv"
    path.write_text(header + "txn-1,fraud\n" if header else "")

    with pytest.raises(CommandError, match=message):
        run_import(path)
    assert Outcome.objects.count() == 0


def test_a_missing_file_is_a_command_error(tmp_path, db):
    with pytest.raises(CommandError, match="cannot read"):
        run_import(tmp_path / "nowhere.csv")


# --- streaming ------------------------------------------------------------------------------


def test_the_service_stores_rows_chunk_by_chunk_while_it_reads_them(make_predictions):
    # 20,000 outcomes over ten predictions (one reference each), made as they are read.
    predictions = make_predictions(10)
    chunk_rows, total = 1000, 20_000
    seen_stored = []

    def rows() -> Iterator[ImportRow]:
        for n in range(total):
            if n % 2500 == 0:
                # Never more than a chunk read and not yet stored: nothing waits for the end.
                stored = Outcome.objects.count()
                assert n - stored <= chunk_rows
                seen_stored.append(stored)
            values = {"request_id": predictions[n % 10].request_id, "label": "fraud", "reference": f"r-{n}"}
            yield ImportRow(n + 2, values)

    summary = services.outcomes_import(rows=rows(), actor="test", chunk_rows=chunk_rows)

    assert (summary.stored, summary.unchanged, summary.bad) == (total, 0, 0)
    assert seen_stored == [n - n % chunk_rows for n in range(0, total, 2500)]
    assert Outcome.objects.count() == total
    assert AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED).count() == total


def test_the_file_is_read_lazily_a_row_at_a_time(tmp_path, db):
    path = csv_file(tmp_path / "big.csv", [[f"txn-{n}", "fraud", "", "", ""] for n in range(20_000)])

    with path.open("rb") as binary:
        rows = csv_rows(text_stream(binary))
        first = next(rows)
        read_so_far = binary.tell()

    assert isinstance(rows, Iterator)
    assert first == ImportRow(
        2, {"request_id": "txn-0", "label": "fraud", "source": "", "occurred_at": "", "reference": ""}
    )
    assert read_so_far < path.stat().st_size / 10


def test_the_summary_counts_every_bad_row_but_lists_only_the_first_ones(db, monkeypatch):
    monkeypatch.setattr(services, "BAD_ROWS_KEPT", 5)
    reported = []
    rows = (ImportRow(n, {"request_id": "txn-1", "label": "maybe"}) for n in range(2, 22))

    summary = services.outcomes_import(rows=rows, actor="test", on_bad_row=reported.append)

    assert summary.bad == 20
    assert [row.line for row in summary.bad_rows] == [2, 3, 4, 5, 6]
    assert len(reported) == 20


def test_an_unreadable_header_raises_before_any_row_is_read(db):
    with pytest.raises(UnreadableFile):
        csv_rows(io.StringIO("request_id;label\ntxn-1;fraud\n"))


def test_a_field_too_large_to_read_is_a_bad_row_and_the_next_rows_are_read(tmp_path, three):
    path = tmp_path / "o.csv"
    path.write_text(
        "request_id,label,reference\n"
        f"{three[0].request_id},fraud,{'r' * 200_000}\n"
        f"{three[1].request_id},legit,\n"
    )
    out, err = run_import(path)

    assert out.strip() == "1 stored, 0 unchanged, 1 bad rows"
    assert err.startswith("line 2: Could not be read: field larger than field limit")
    assert Outcome.objects.get().prediction_id == three[1].pk
