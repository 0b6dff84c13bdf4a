"""On PostgreSQL, triggers keep the audit log append-only, whoever asks.

The one UPDATE allowed is the linker's: giving a not-yet-linked event its chain position
and hashes, with every other column unchanged. DELETE and TRUNCATE are always refused.
"""

from django.db import migrations

CREATE = """
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

CREATE TRIGGER reviews_auditevent_append_only_rows
    BEFORE UPDATE OR DELETE ON reviews_auditevent
    FOR EACH ROW EXECUTE FUNCTION reviews_auditevent_append_only();

CREATE TRIGGER reviews_auditevent_append_only
    BEFORE TRUNCATE ON reviews_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS reviews_auditevent_append_only ON reviews_auditevent;
DROP TRIGGER IF EXISTS reviews_auditevent_append_only_rows ON reviews_auditevent;
DROP FUNCTION IF EXISTS reviews_auditevent_append_only();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0003_audit_event")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
