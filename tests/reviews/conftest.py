import pytest

from predictions import services
from predictions.models import ModelVersion
from tests.reviews.factories import routed_items


@pytest.fixture
def review_model(register_model) -> ModelVersion:
    """An active model whose review threshold is 1.0, so every prediction goes to review."""
    version = register_model(activate=False)
    ModelVersion.objects.filter(pk=version.pk).update(review_threshold=1.0)
    return services.model_version_activate(version=version.version, actor="test")


@pytest.fixture
def make_items(review_model, transactions):
    """make_items(count, api_key=None, seed=5): routed review items, highest priority first."""

    def make(count: int, *, api_key=None, seed: int = 5):
        return routed_items(records=transactions(count, seed=seed), api_key=api_key)

    return make


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", "alice")


@pytest.fixture
def other_analyst(make_user):
    return make_user("analyst", "bob")


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # make_user sets a password; the production hasher costs ~0.2 s a user on these machines.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Pages link their CSS and scripts; tests have no collectstatic manifest to look them up in.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


AUDIT_TABLE, AUDIT_TRIGGER = "reviews_auditevent", "reviews_auditevent_append_only"


@pytest.fixture(scope="session")
def audit_log_flushable():
    """Let transactional tests on PostgreSQL empty the audit log between tests.

    Its append-only trigger refuses TRUNCATE, which is how Django's test flush empties tables;
    the flush lifts the trigger for its own statement only. Session-scoped so it is still in
    place when the flush runs. (The same as tests/predictions/conftest.py's fixture; it belongs
    in tests/conftest.py, which this folder does not own.)
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **options):
        statements = original(self, style, tables, **options)
        if AUDIT_TABLE not in tables:
            return statements
        return [
            f"ALTER TABLE {AUDIT_TABLE} DISABLE TRIGGER {AUDIT_TRIGGER};",
            *statements,
            f"ALTER TABLE {AUDIT_TABLE} ENABLE TRIGGER {AUDIT_TRIGGER};",
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield
