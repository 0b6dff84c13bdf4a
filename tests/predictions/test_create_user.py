"""manage.py create_user: a person with one role, a password shown once or read from stdin."""

import io
import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from tests.monitoring.test_role_groups import create_role_groups

STRONG = "a-long-and-uncommon-passphrase"


@pytest.fixture(autouse=True)
def role_groups(db):
    create_role_groups()  # a transactional test run before may have flushed migrate's groups


def create_user(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    options = {"stdin": io.StringIO(stdin)} if stdin is not None else {}
    call_command("create_user", *args, stdout=out, **options)
    return out.getvalue()


def groups_of(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def test_it_creates_an_analyst_and_prints_a_generated_password_once():
    output = create_user("ana", "--role", "analyst", "--email", "Ana@Example.com")

    first, second = output.splitlines()
    assert first == "created analyst ana"
    password = re.fullmatch(r"password \(shown once\): (\S{16})", second).group(1)
    user = User.objects.get(username="ana")
    assert user.check_password(password)
    assert groups_of(user) == ["analyst"]
    assert user.email == "Ana@example.com"
    assert not user.is_staff
    assert not user.is_superuser


def test_it_records_the_new_roles_in_the_audit_log():
    create_user("ana", "--role", "auditor")

    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_ROLE_CHANGED)
    assert event.actor.startswith("cli:")
    assert event.object_id == str(User.objects.get(username="ana").pk)
    assert event.before is None
    assert event.after["groups"] == ["auditor"]


def test_it_reads_the_password_from_the_first_line_of_stdin_and_prints_none():
    output = create_user("root", "--role", "admin", "--password-stdin", stdin=f"{STRONG}\nignored\n")

    assert output == "created admin root\n"
    user = User.objects.get(username="root")
    assert user.check_password(STRONG)
    assert user.is_staff


@pytest.mark.parametrize(
    ("stdin", "message"),
    [("", "no password on the first line"), ("password\n", "password refused: This password is too common")],
)
def test_it_refuses_an_empty_or_weak_password_and_creates_nobody(stdin, message):
    with pytest.raises(CommandError, match=message):
        create_user("ana", "--role", "analyst", "--password-stdin", stdin=stdin)

    assert not User.objects.filter(username="ana").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ana", "--role", "superhero"], "invalid choice: 'superhero'"),
        (["ana"], "the following arguments are required: --role"),
        (["ana smith", "--role", "analyst"], "username 'ana smith'"),
        (["ana", "--role", "analyst", "--email", "not-an-address"], "is not an email address"),
    ],
)
def test_it_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        create_user(*args)

    assert not User.objects.exists()


def test_it_refuses_an_existing_username_and_changes_nothing():
    create_user("ana", "--role", "analyst", "--password-stdin", stdin=STRONG)

    with pytest.raises(CommandError, match="user 'ana' exists; --update gives them the admin role"):
        create_user("ana", "--role", "admin")

    user = User.objects.get(username="ana")
    assert groups_of(user) == ["analyst"]
    assert not user.is_staff


def test_update_gives_another_role_in_place_of_the_others_and_keeps_the_password():
    create_user("ana", "--role", "admin", "--password-stdin", stdin=STRONG)
    user = User.objects.get(username="ana")
    user.groups.add(Group.objects.create(name="night-shift"))  # not a role: kept

    output = create_user("ana", "--role", "auditor", "--update")

    assert output == "updated auditor ana\n"
    user.refresh_from_db()
    assert groups_of(user) == ["auditor", "night-shift"]
    assert not user.is_staff
    assert user.check_password(STRONG)
    event = AuditEvent.objects.filter(action=AuditEvent.Action.USER_ROLE_CHANGED).last()
    assert (event.before["groups"], event.after["groups"]) == (
        ["admin", "night-shift"],
        ["auditor", "night-shift"],
    )
    assert (event.before["is_staff"], event.after["is_staff"]) == (True, False)


def test_update_with_a_password_from_stdin_sets_it():
    create_user("ana", "--role", "analyst")

    create_user("ana", "--role", "analyst", "--update", "--password-stdin", stdin=STRONG)

    assert User.objects.get(username="ana").check_password(STRONG)


def test_it_refuses_when_the_role_group_is_missing():
    Group.objects.filter(name="auditor").delete()

    with pytest.raises(CommandError, match=r"there is no 'auditor' group: `manage\.py migrate` creates"):
        create_user("ana", "--role", "auditor")

    assert not User.objects.exists()


# --- what the roles may do in /admin/ -------------------------------------------------------


@pytest.fixture
def signed_in(client):
    def sign_in(role: str, *, staff: bool = False):
        create_user(role, "--role", role)
        user = User.objects.get(username=role)
        if staff:
            user.is_staff = True
            user.save()
        client.force_login(user)
        return client

    return sign_in


def test_an_admin_it_creates_manages_models_keys_users_and_the_switch_in_the_admin(signed_in, register_model):
    register_model(activate=False)
    client = signed_in("admin")

    changelist = client.get("/admin/predictions/modelversion/")
    assert changelist.status_code == 200
    assert b'value="activate"' in changelist.content
    pages = (
        "/admin/predictions/apikey/add/",
        "/admin/auth/user/add/",
        "/admin/audit/auditevent/",
        "/admin/audit/auditlink/",
    )
    for page in pages:
        assert client.get(page).status_code == 200, page
    assert client.get("/admin/monitoring/operationalsettings/", follow=True).status_code == 200


def test_a_staff_auditor_reads_the_registry_but_cannot_activate_or_see_api_keys(signed_in, register_model):
    version = register_model(activate=False)
    client = signed_in("auditor", staff=True)

    changelist = client.get("/admin/predictions/modelversion/")
    assert changelist.status_code == 200
    assert b'value="activate"' not in changelist.content
    client.post("/admin/predictions/modelversion/", {"action": "activate", "_selected_action": [version.pk]})
    version.refresh_from_db()
    assert version.status == "staged"
    assert client.get("/admin/predictions/apikey/").status_code == 403
    assert b'value="replay"' not in client.get("/admin/reviews/callbackdelivery/").content
