"""migrate creates the role groups with their admin permissions, on a fresh database or not."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

ROLE_GROUPS = importlib.import_module("monitoring.migrations.0006_role_groups")
BEFORE = ("monitoring", "0005_operational_settings_moved_to_predictions")


def permissions_of(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


def create_role_groups() -> None:
    ROLE_GROUPS.create_role_groups(global_apps, SimpleNamespace(connection=connection))


@pytest.mark.django_db(transaction=True)
def test_migrate_creates_the_groups_and_their_permissions_on_a_fresh_database():
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate([BEFORE])
    # As on a fresh database: post_migrate has not created any permission yet.
    Group.objects.all().delete()
    Permission.objects.all().delete()

    MigrationExecutor(connection).migrate(leaves)

    assert set(Group.objects.values_list("name", flat=True)) == {"analyst", "auditor", "admin"}
    assert permissions_of("analyst") == {
        "predictions.view_prediction",
        "reviews.view_reviewitem",
        "reviews.view_decision",
    }
    auditor = permissions_of("auditor")
    assert {
        "audit.view_auditevent",
        "audit.view_auditlink",
        "predictions.view_modelversion",
        "outcomes.view_outcome",
    } <= auditor
    assert all(codename.split(".")[1].startswith("view_") for codename in auditor)
    assert "predictions.view_apikey" not in auditor  # a view-only key page would show its secret
    admin = permissions_of("admin")
    assert auditor <= admin
    assert {
        "auth.add_user",
        "auth.change_user",
        "predictions.add_apikey",
        "predictions.change_apikey",
        "predictions.change_modelversion",
        "reviews.change_callbackdelivery",
        "monitoring.change_operationalsettings",
    } <= admin
    assert not any(".delete_" in codename for codename in admin)


@pytest.mark.django_db
def test_on_a_database_with_the_groups_it_adds_what_is_missing_and_takes_nothing_away():
    auditor, _ = Group.objects.get_or_create(name="auditor")
    granted_by_hand = Permission.objects.get(content_type__app_label="auth", codename="view_user")
    auditor.permissions.set([granted_by_hand])

    create_role_groups()
    create_role_groups()

    assert Group.objects.filter(name="auditor").count() == 1
    assert "auth.view_user" in permissions_of("auditor")
    assert "audit.view_auditevent" in permissions_of("auditor")
