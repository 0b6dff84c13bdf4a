"""The role groups, analyst, auditor and admin, with their model permissions.

Pages and the API check group membership (reviewapp/roles.py). Model permissions matter in
/admin/ only, which staff reach (`create_user --role admin` makes staff; nobody else is):
what each role may see there, and what an admin may change. Auditors are not given API keys:
a view-only page would show a key's callback secret.

Django creates permissions after every migration has run (post_migrate), so on a fresh
database they do not exist yet when this runs: it creates them first, as post_migrate would.
On a database where the groups exist it only adds what is missing; nothing is taken away.
It lives in the top app because it needs every app's models.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

VIEW, ADD, CHANGE = "view", "add", "change"

ANALYST = {
    "predictions": {"prediction": [VIEW]},
    "reviews": {"reviewitem": [VIEW], "decision": [VIEW]},
}
AUDITOR = {
    "audit": {"auditevent": [VIEW]},
    "predictions": {"modelversion": [VIEW], "prediction": [VIEW]},
    "reviews": {
        "reviewitem": [VIEW],
        "decision": [VIEW],
        "callbackdelivery": [VIEW],
        "callbackattempt": [VIEW],
    },
    "outcomes": {"outcome": [VIEW]},
    "monitoring": {"driftreport": [VIEW], "featuredrift": [VIEW], "operationalsettings": [VIEW]},
}
ADMIN = {
    **AUDITOR,
    "auth": {"user": [VIEW, ADD, CHANGE], "group": [VIEW]},
    # change_modelversion: the "activate" action; change_callbackdelivery: "replay".
    "predictions": {"modelversion": [VIEW, CHANGE], "prediction": [VIEW], "apikey": [VIEW, ADD, CHANGE]},
    "reviews": {**AUDITOR["reviews"], "callbackdelivery": [VIEW, CHANGE]},
    "monitoring": {**AUDITOR["monitoring"], "operationalsettings": [VIEW, CHANGE]},
}
ROLE_PERMISSIONS = {"analyst": ANALYST, "auditor": AUDITOR, "admin": ADMIN}


def create_role_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    for label in sorted({label for grants in ROLE_PERMISSIONS.values() for label in grants}):
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        wanted = Q(pk__in=[])
        count = 0
        for app_label, models in grants.items():
            for model, actions in models.items():
                codenames = [f"{action}_{model}" for action in actions]
                wanted |= Q(content_type__app_label=app_label, content_type__model=model, codename__in=codenames)
                count += len(codenames)
        permissions = list(Permission.objects.using(using).filter(wanted))
        if len(permissions) != count:
            raise RuntimeError(f"the {role} group's permissions: found {len(permissions)} of {count}")
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.add(*permissions)


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0003_model_threshold_changed_action"),
        ("predictions", "0010_quality_indexes"),
        ("reviews", "0010_decision_blind"),
        ("outcomes", "0002_effective_outcome_backfill"),
        ("monitoring", "0005_operational_settings_moved_to_predictions"),
    ]

    operations = [
        # Reversing keeps the groups: people in them would lose their roles.
        migrations.RunPython(create_role_groups, migrations.RunPython.noop),
    ]
