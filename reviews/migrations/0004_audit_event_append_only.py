"""On PostgreSQL a trigger refuses UPDATE and DELETE on the audit log, whoever asks."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION reviews_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'reviews_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER reviews_auditevent_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON reviews_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS reviews_auditevent_append_only ON reviews_auditevent;
DROP FUNCTION IF EXISTS reviews_auditevent_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0003_audit_event")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
