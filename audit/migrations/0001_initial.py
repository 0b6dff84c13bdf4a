"""The audit log moves from `reviews` to its own app: the same table, the same rows.

Only Django's idea of which app owns the model changes (its state); the table keeps its name,
its rows, its indexes and its append-only triggers. The content type moves with it, so
permissions granted on audit events and admin log entries keep pointing at them.
"""

from django.db import migrations, models


def content_type_move(apps, schema_editor, *, source="reviews", target="audit"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if ContentType.objects.filter(app_label=target, model="auditevent").exists():
        return
    ContentType.objects.filter(app_label=source, model="auditevent").update(app_label=target)


def content_type_move_back(apps, schema_editor):
    content_type_move(apps, schema_editor, source="audit", target="reviews")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("reviews", "0007_api_key_changed_action"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(db_index=True, editable=False)),
                        ("action", models.CharField(choices=[('prediction.created', 'Prediction Created'), ('prediction.routed', 'Prediction Routed'), ('review.claimed', 'Review Claimed'), ('review.released', 'Review Released'), ('review.lease_expired', 'Review Lease Expired'), ('review.decided', 'Review Decided'), ('callback.delivered', 'Callback Delivered'), ('callback.dead', 'Callback Dead'), ('callback.replayed', 'Callback Replayed'), ('model.registered', 'Model Registered'), ('model.activated', 'Model Activated'), ('model.rolled_back', 'Model Rolled Back'), ('api_key.created', 'Api Key Created'), ('api_key.rotated', 'Api Key Rotated'), ('api_key.revoked', 'Api Key Revoked'), ('api_key.changed', 'Api Key Changed'), ('user.role_changed', 'User Role Changed'), ('user.login_locked_out', 'Login Locked Out'), ('operations.switched', 'Operations Switched')], editable=False, max_length=40)),
                        ("actor", models.CharField(editable=False, help_text="Who: user:NAME, api_key:NAME, system:TASK", max_length=200)),
                        ("request_id", models.CharField(blank=True, db_index=True, editable=False, max_length=64)),
                        ("object_type", models.CharField(editable=False, max_length=50)),
                        ("object_id", models.CharField(editable=False, max_length=64)),
                        ("before", models.JSONField(editable=False, null=True)),
                        ("after", models.JSONField(editable=False, null=True)),
                        ("seq", models.PositiveBigIntegerField(editable=False, help_text="Position in the chain; empty until linked", null=True, unique=True)),
                        ("prev_hash", models.CharField(editable=False, max_length=64, null=True)),
                        ("hash", models.CharField(editable=False, max_length=64, null=True, unique=True)),
                    ],
                    options={
                        "db_table": "reviews_auditevent",
                        "ordering": ["id"],
                        "indexes": [
                            models.Index(fields=["object_type", "object_id"], name="audit_event_object"),
                            models.Index(condition=models.Q(("seq__isnull", True)), fields=["id"], name="audit_event_unlinked"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_move, content_type_move_back),
    ]
