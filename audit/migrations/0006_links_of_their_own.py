"""The chain's links move out of the event rows into a table of their own, fed by a queue.

Before, the linker rewrote each event to give it its place in the chain: a second heap tuple
and every index entry again, per event. Now a link is a row of `audit_link`, appended, and it
can cover rows of other tables (a prediction is its own `created` evidence). Writers queue
what they write in `audit_pending`, in the same transaction.

Every existing link is copied with its position and hashes, so the chain verifies as before
and its head hash is unchanged; events not linked yet are queued. Then the event table loses
its link columns, and its triggers refuse every UPDATE: nothing rewrites an event any more.
"""

import django.db.models.functions.datetime
from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

COPY_LINKS = """
INSERT INTO audit_link (seq, source, object_id, prev_hash, hash)
SELECT seq, 'event', id, prev_hash, hash FROM reviews_auditevent WHERE seq IS NOT NULL
"""
QUEUE_UNLINKED = """
INSERT INTO audit_pending (source, object_id)
SELECT 'event', id FROM reviews_auditevent WHERE seq IS NULL ORDER BY id
"""
COPY_BACK = """
UPDATE reviews_auditevent SET seq = link.seq, prev_hash = link.prev_hash, hash = link.hash
FROM audit_link AS link WHERE link.source = 'event' AND link.object_id = reviews_auditevent.id
"""

# Whoever asks, an event is never changed or deleted; neither is a link.
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION reviews_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_link_append_only_rows
    BEFORE UPDATE OR DELETE ON audit_link
    FOR EACH ROW EXECUTE FUNCTION reviews_auditevent_append_only();

CREATE TRIGGER audit_link_append_only
    BEFORE TRUNCATE ON audit_link
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_auditevent_append_only();

-- The queue is written and emptied all day: vacuum it after a thousand entries, not a fifth
-- of a table that is small one moment and large the next.
ALTER TABLE audit_pending SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
"""
# The linker's one allowed UPDATE, as it was (reviews/migrations/0004_audit_event_append_only.py).
LINKER_MAY_UPDATE = """
DROP TRIGGER IF EXISTS audit_link_append_only ON audit_link;
DROP TRIGGER IF EXISTS audit_link_append_only_rows ON audit_link;

CREATE OR REPLACE FUNCTION reviews_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (NEW.id, NEW.created_at, NEW.action, NEW.actor, NEW.request_id, NEW.object_type,
            NEW.object_id, NEW.before::text, NEW.after::text)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.created_at, OLD.action, OLD.actor, OLD.request_id, OLD.object_type,
            OLD.object_id, OLD.before::text, OLD.after::text) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'reviews_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def links_copy(apps, schema_editor) -> None:
    schema_editor.execute(COPY_LINKS)
    schema_editor.execute(QUEUE_UNLINKED)


def links_copy_back(apps, schema_editor) -> None:
    others = apps.get_model("audit", "AuditLink").objects.exclude(source="event")
    if others.exists():
        raise IrreversibleError(
            "The chain links rows other than events (predictions); the old schema cannot hold them"
        )
    schema_editor.execute(COPY_BACK)


def append_only(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def linker_may_update(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LINKER_MAY_UPDATE, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_no_like_copies")]

    operations = [
        migrations.CreateModel(
            name="AuditLink",
            fields=[
                ("seq", models.BigIntegerField(editable=False, help_text="Position in the chain, from 1", primary_key=True, serialize=False)),
                ("source", models.CharField(editable=False, help_text="What kind of row: event, prediction", max_length=20)),
                ("object_id", models.BigIntegerField(editable=False, help_text="The covered row's primary key")),
                ("prev_hash", models.CharField(editable=False, max_length=64)),
                ("hash", models.CharField(editable=False, max_length=64)),
            ],
            options={
                "db_table": "audit_link",
                "ordering": ["seq"],
                "constraints": [models.UniqueConstraint(fields=("source", "object_id"), name="audit_link_once")],
            },
        ),
        migrations.CreateModel(
            name="AuditPending",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("source", models.CharField(max_length=20)),
                ("object_id", models.BigIntegerField()),
                ("queued_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), editable=False)),
            ],
            options={"db_table": "audit_pending"},
        ),
        migrations.RunPython(links_copy, links_copy_back),
        migrations.RunPython(append_only, linker_may_update),
        migrations.RemoveIndex(model_name="auditevent", name="audit_event_unlinked"),
        migrations.RemoveField(model_name="auditevent", name="seq"),
        migrations.RemoveField(model_name="auditevent", name="prev_hash"),
        migrations.RemoveField(model_name="auditevent", name="hash"),
    ]
