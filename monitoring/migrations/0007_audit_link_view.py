"""Auditors and admins see the hash chain's links in /admin/, as they see the events.

The links moved out of the event rows into a model of their own (audit/migrations/
0006_links_of_their_own.py); without this, the admin's "Audit links" page would be a
superuser's only.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ("auditor", "admin")


def grant_link_view(apps, schema_editor):
    using = schema_editor.connection.alias
    create_permissions(global_apps.get_app_config("audit"), verbosity=0, using=using, apps=apps)
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.using(using).get(content_type__app_label="audit", codename="view_auditlink")
    for group in apps.get_model("auth", "Group").objects.using(using).filter(name__in=ROLES):
        group.permissions.add(view)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0006_role_groups"),
        ("audit", "0006_links_of_their_own"),
    ]

    operations = [
        # Reversing keeps the permission: it grants a view, and the model may be gone by then.
        migrations.RunPython(grant_link_view, migrations.RunPython.noop),
    ]
