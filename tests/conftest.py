import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.test import APIClient

from audit.services import APPEND_ONLY_TABLES
from predictions import registry, services, training
from reviewapp import celery_app
from reviewapp.roles import ROLES

TRAINING_ROWS = 20_000


@pytest.fixture(scope="session")
def trained() -> training.TrainingResult:
    """One small demo model per test session: training is pure, so it needs no database."""
    frame = training.generate_transactions(rows=TRAINING_ROWS, seed=11)
    return training.train(frame=frame, schema=training.DEMO_SCHEMA, target="is_fraud", review_threshold=0.85)


@pytest.fixture(scope="session", autouse=True)
def audit_log_flushable():
    """Let the flush that ends a transactional test empty the audit log on PostgreSQL.

    The log's append-only triggers (events and links) refuse TRUNCATE, which is how Django's
    test flush empties tables; the flush lifts the triggers for its own statements only.
    Session-scoped so it is still in place when the flush runs, after every function-scoped
    fixture is gone.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **options):
        statements = original(self, style, tables, **options)
        guarded = [table for table in APPEND_ONLY_TABLES if table in tables]
        return [
            *(f"ALTER TABLE {table} DISABLE TRIGGER USER;" for table in guarded),
            *statements,
            *(f"ALTER TABLE {table} ENABLE TRIGGER USER;" for table in guarded),
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(scope="session", autouse=True)
def scoring_front():
    """Test clients reach the app through the scoring front, as the web server does."""
    from django.test.client import ClientHandler

    from tests.scoring_front import through_the_front

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ClientHandler, "__call__", through_the_front)
        yield


@pytest.fixture(autouse=True)
def test_friendly_settings(settings):
    # The production hasher costs ~0.2 s a user here; pages link static files, and tests have
    # no collectstatic manifest to look hashed names up in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # With random request IDs the audit sample would send one confident prediction in a
    # hundred to the queue, at random; the tests of the sample set their own rate.
    settings.AUDIT_SAMPLE_RATE = 0.0


@pytest.fixture(autouse=True)
def empty_cache():
    # Rate-limit counters live in the cache (and, for busy keys, in the process); each test
    # starts with none.
    from reviewapp.api import throttling

    cache.clear()
    throttling.local_counts_clear()


@pytest.fixture(autouse=True)
def isolated_model_cache(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    registry.forget()
    yield
    registry.forget()


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Unit tests run tasks in-process; tests marked `integration` use a real worker."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def register_model(db, trained):
    def register(*, activate: bool = True, name: str = "card-fraud"):
        version = services.model_version_register(name=name, result=trained, training_info={"source": "test"})
        if activate:
            version = services.model_version_activate(version=version.version, actor="test")
        return version

    return register


@pytest.fixture
def active_model(register_model):
    return register_model()


@pytest.fixture
def api_key_and_secret(db):
    return services.api_key_create(name="checkout")


@pytest.fixture
def api_client(api_key_and_secret) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_and_secret[1]}")
    return client


@pytest.fixture
def make_user(db):
    def make(role: str | None, username: str | None = None) -> User:
        user = User.objects.create_user(username or role or "nobody", password="pw-for-tests-only")
        if role in ROLES:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        if role == "admin":
            user.is_superuser = user.is_staff = True
            user.save()
        return user

    return make


@pytest.fixture
def transactions():
    """Demo transactions as JSON-ready feature dicts."""

    def make(count: int, seed: int = 5) -> list[dict]:
        frame = training.generate_transactions(rows=count, seed=seed)
        return training.frame_to_records(frame, training.DEMO_SCHEMA)

    return make


def _needs(item) -> list[str]:
    """What an item's markers need that this environment lacks."""
    from django.conf import settings

    missing = []
    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    if (item.get_closest_marker("postgres") or item.get_closest_marker("integration")) and not on_postgres:
        missing.append("DATABASE_URL pointing at PostgreSQL")
    if item.get_closest_marker("integration") and not settings.REDIS_URL:
        missing.append("REDIS_URL")
    return missing


def pytest_collection_modifyitems(config, items):
    """Skip tests whose real services are absent; under CI that is an error, never a skip."""
    import os

    in_ci = os.environ.get("CI", "").lower() == "true"
    for item in items:
        missing = _needs(item)
        if missing and in_ci:
            raise pytest.UsageError(f"CI=true, but {item.nodeid} needs {' and '.join(missing)}")
        if missing:
            item.add_marker(pytest.mark.skip(reason="needs " + " and ".join(missing)))
