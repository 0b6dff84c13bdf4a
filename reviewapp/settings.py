"""The one settings module: every machine-specific value comes from the environment."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from reviewapp.env import env_bool, env_float, env_int, env_list, env_share, env_str
from reviewapp.schedules import env_crontab


def _next_redis_db(url: str) -> str:
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(db + 1) % 16}"))


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# Demo mode seeds well-known users and keys; it only ever runs next to DEBUG.
DEMO_MODE = env_bool("DEMO_MODE", DEBUG)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    # The project's apps, bottom layer first (pyproject.toml's import contract).
    "audit",
    "predictions",
    "reviews",
    "outcomes",
    "lifecycle",
    "monitoring",
]

# Messages live in the session: the default (cookie first) builds a signer for every
# request, API calls included, whether or not a message is ever shown.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Request ID, access log line and request metrics; early, so it sees every answer below.
    "reviewapp.middleware.RequestTelemetryMiddleware",
    # /healthz, /readyz and /metrics answered here, before the Host header is checked: kubelet
    # and Prometheus address a pod by its IP (reviewapp/middleware.py).
    "reviewapp.middleware.ProbeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication (an upload's larger limit is an admin's), before any view reads a body.
    "reviewapp.middleware.BodySizeLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "reviewapp.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires: answers a locked-out login 429.
    "axes.middleware.AxesMiddleware",
]

# Browser security: secure by default with DEBUG off; under DEBUG plain HTTP on loopback works.
# Each setting can be overridden by an environment variable of the same name.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Health checks and Prometheus scrape over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = env_bool("SESSION_COOKIE_HTTPONLY", True)
SESSION_COOKIE_SAMESITE = env_str("SESSION_COOKIE_SAMESITE", "Lax")
CSRF_COOKIE_SAMESITE = env_str("CSRF_COOKIE_SAMESITE", "Lax")
# "HTTP_X_FORWARDED_PROTO,https" behind a TLS-terminating proxy that sets the header.
_proxy_ssl_header = env_list("SECURE_PROXY_SSL_HEADER", [])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER must be HEADER,value")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) or None
X_FRAME_OPTIONS = env_str("X_FRAME_OPTIONS", "DENY")
SECURE_CONTENT_TYPE_NOSNIFF = env_bool("SECURE_CONTENT_TYPE_NOSNIFF", True)
SECURE_REFERRER_POLICY = env_str("SECURE_REFERRER_POLICY", "same-origin")

# Content Security Policy (django-csp): no inline scripts or styles anywhere; the Swagger
# page alone allows its template's inline <style> (reviewapp/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
    }
}

ROOT_URLCONF = "reviewapp.urls"
WSGI_APPLICATION = "reviewapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reviewapp.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'reviewapp.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # /readyz and start-up must fail fast when the database is unreachable, not hang.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # The scoring insert is prepared once per connection (predictions/persistence.py; Django's
    # own queries bind on the client and never are). Behind PgBouncer in transaction mode
    # before 1.21, turn it off: prepared statements do not survive a change of server connection.
    DATABASES["default"]["OPTIONS"].setdefault(
        "prepare_threshold", 1 if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None
    )
# A request that cannot reach the database is answered 503 with this Retry-After (seconds), never
# 500 (reviewapp/errors.py): a PostgreSQL restart or failover takes a few seconds.
DATABASE_RETRY_AFTER_SECONDS = env_int("DATABASE_RETRY_AFTER_SECONDS", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, management commands) share the demo file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login brute force: django-axes refuses a username from one client IP after
# AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_MINUTES; audit/receivers.py audits it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, refusing the demo users outside demo mode (reviewapp/demo.py).
    "reviewapp.demo.DemoAwareModelBackend",
]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_CLIENT_IP_CALLABLE = "reviewapp.client_ip.client_ip"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
# Username and IP together: one attacker cannot lock a colleague out from everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Requests larger than this are answered 413 before any parsing...
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 1024 * 1024)
# ...but for the file uploads at these paths: a CSV of a million outcomes is ~60 MB. Django
# writes an upload beyond FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) to a temporary file, and the page
# reads it from there a row at a time, so this bounds disk, not memory.
MAX_UPLOAD_BODY_BYTES = env_int("MAX_UPLOAD_BODY_BYTES", 256 * 1024 * 1024)
UPLOAD_PATHS = frozenset({"/outcomes/upload/"})
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "predictions.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["reviewapp.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["reviewapp.api.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "reviewapp.api.exceptions.exception_handler",
    # Rates come from ApiKey.rate_limit, API_RATE_LIMIT and ANON_RATE_LIMIT (reviewapp/api/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": ["reviewapp.api.throttling.CallerRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "reviewapp API",
    "DESCRIPTION": "Fraud scoring with stored explanations and human review of uncertain cases.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["predictions.api.permissions.CanReadPredictions"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set, so the schema is stable and `check --deploy` has no warnings.
    "ENUM_NAME_OVERRIDES": {
        "LabelEnum": "predictions.models.Prediction.Label",
        "ModelVersionStatusEnum": "predictions.models.ModelVersion.Status",
        "PredictionStatusEnum": "predictions.models.Prediction.Status",
        "OutcomeSourceEnum": "outcomes.models.Outcome.Source",
    },
}

# Rate limits ("N/sec|min|hour|day"): per API key (overridable per key; by default the
# 1,000 requests/s one deployment is sized for, so a busy upstream system is not throttled),
# and per client IP for unauthenticated or failed requests, so a key cannot be brute-forced.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "60000/min")
# How many proxies of ours stand in front of the web server: the client IP for rate limits and login
# lockouts is the address the nearest one appended to X-Forwarded-For (reviewapp/client_ip.py).
# 0: the header is ignored, so a client cannot pick its own address.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
ANON_RATE_LIMIT = env_str("ANON_RATE_LIMIT", "100/min")

# Celery: with no REDIS_URL tasks run in-process, so the demo needs no broker.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
# The shared cache holds rate-limit counters across processes. It has its own Redis database,
# by default the one after REDIS_URL's (clearing the cache flushes that database, not the
# broker's); no Redis, a per-process memory cache.
CACHE_URL = env_str("CACHE_URL", _next_redis_db(REDIS_URL) if REDIS_URL else "")
CACHES = {
    "default": (
        {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "reviewapp",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "reviewapp")
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 100)
# With no broker there is no beat to link audit events into the chain: link after each commit.
AUDIT_LINK_ON_COMMIT = env_bool("AUDIT_LINK_ON_COMMIT", not REDIS_URL)
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", 600)

# Scoring and review routing.
MODEL_ARTIFACT_DIR = Path(env_str("MODEL_ARTIFACT_DIR", str(DATA_DIR / "models")))
REVIEW_CONFIDENCE_THRESHOLD = env_float("REVIEW_CONFIDENCE_THRESHOLD", 0.85)
# The share of automatic decisions also reviewed blind, as an honest sample of the model's
# errors: a new model version starts with this rate (0 turns the sample off).
AUDIT_SAMPLE_RATE = env_share("AUDIT_SAMPLE_RATE", 0.01)
# The share of low-confidence items reviewed blind too, so the scorecard can compare analysts
# who saw the model's verdict with analysts who did not.
BLIND_REVIEW_RATE = env_share("BLIND_REVIEW_RATE", 0.0)
# Model lifecycle (lifecycle app, docs/lifecycle.md). A challenger is refused activation when
# it is worse than the active version on labelled predictions by more than this (absolute, on
# each gated metric), unless forced with a reason.
PROMOTION_TOLERANCE = env_float("PROMOTION_TOLERANCE", 0.02)
# Activations, review thresholds and audit sample rates take effect only once a second admin
# approves them.
REQUIRE_SECOND_APPROVER = env_bool("REQUIRE_SECOND_APPROVER", False)
# Predictions a shadow scoring task takes at most at once.
SHADOW_BATCH_SIZE = env_int("SHADOW_BATCH_SIZE", 500)
# A crontab ("minute hour day-of-month month day-of-week", e.g. "0 3 * * 1") on which beat
# retrains from outcomes and starts the new version shadowing (never activates it); empty: off.
RETRAIN_SCHEDULE = env_crontab("RETRAIN_SCHEDULE")
# The scheduled retraining learns from the predictions of this many days before it runs: long
# enough for chargebacks to arrive (weeks), short enough to follow fraud as it changes.
RETRAIN_WINDOW_DAYS = env_int("RETRAIN_WINDOW_DAYS", 90)
# How often a process checks which model version is active (seconds).
MODEL_REFRESH_SECONDS = env_float("MODEL_REFRESH_SECONDS", 2.0)
# A prediction not routed within this many seconds is re-enqueued by the sweeper.
ROUTING_SWEEP_AFTER_SECONDS = env_int("ROUTING_SWEEP_AFTER_SECONDS", 60)
# A web process gathers the predictions its requests hand to Celery (routing, the shadow) and
# sends them in one message per this many seconds (reviewapp/coalescing.py; 0: one per commit).
# A second keeps a review item's wait for its queue far below an analyst's pace; each routing
# task has a fixed cost: at 0.2 s Celery took 8 % of a single prediction's CPU, at 1 s 4-5 %
# (bench/README.md, eleventh pass).
TASK_COALESCE_SECONDS = env_float("TASK_COALESCE_SECONDS", 1.0)
BATCH_MAX_ITEMS = env_int("BATCH_MAX_ITEMS", 1000)
# Scoring batches a web process works on at once (0: as many as it has threads). More add
# memory (tens of MiB each) but no throughput: a batch is CPU work (reviewapp/api/concurrency.py).
# Two, so one can compute while the other waits for PostgreSQL.
BATCH_CONCURRENCY = env_int("BATCH_CONCURRENCY", 2)
# How long a batch waits for one of those before it is answered 503 with Retry-After (seconds).
BATCH_WAIT_SECONDS = env_float("BATCH_WAIT_SECONDS", 10.0)
# Scoring requests with an API key take the lean route in front of Django (predictions/api/fast.py,
# the application reviewapp.wsgi serves); 0 sends them through Django's handler, the whole
# middleware chain and DRF, which answer identically, only slower.
SCORING_FAST_PATH = env_bool("SCORING_FAST_PATH", True)
# Single predictions a web process scores at the same time are committed by one statement
# (predictions/persistence.py); each answer still waits for its own row's commit. 0: one
# statement per prediction.
SCORING_GROUP_COMMIT = env_bool("SCORING_GROUP_COMMIT", True)
# How long a group's leader waits, at most, for the rows of scoring requests already under way
# in its process (milliseconds; 0: it writes what is queued at once). Alone, nobody waits.
SCORING_GROUP_WAIT_MS = env_float("SCORING_GROUP_WAIT_MS", 5.0)
# How long a process trusts a verified API key before asking the database again (seconds).
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 10)

# Operations: drift, metrics, the review-everything switch.
DRIFT_WINDOW_HOURS = env_int("DRIFT_WINDOW_HOURS", 24)
DRIFT_MIN_SAMPLES = env_int("DRIFT_MIN_SAMPLES", 200)
PSI_WARNING = env_float("PSI_WARNING", 0.1)
PSI_ALERT = env_float("PSI_ALERT", 0.25)
# /metrics answers loopback and private networks; elsewhere it needs this bearer token.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# How often a process writes out the scoring path's counts it gathers (reviewapp/metrics.py,
# GatheredCounts); 0 writes each count at once.
METRICS_GATHER_SECONDS = env_float("METRICS_GATHER_SECONDS", 1.0)
# Send every prediction to review (pause automatic decisions); the admin toggle overrides it.
REVIEW_ALL_PREDICTIONS = env_bool("REVIEW_ALL_PREDICTIONS", False)

# The review queue.
REVIEW_SLA_MINUTES = env_int("REVIEW_SLA_MINUTES", 30)
REVIEW_LEASE_MINUTES = env_int("REVIEW_LEASE_MINUTES", 15)
REVIEW_PAGE_SIZE = env_int("REVIEW_PAGE_SIZE", 50)
# Decisions are POSTed to upstream callback URLs, retried with backoff, then marked dead.
CALLBACK_TIMEOUT_SECONDS = env_float("CALLBACK_TIMEOUT_SECONDS", 5.0)
CALLBACK_MAX_ATTEMPTS = env_int("CALLBACK_MAX_ATTEMPTS", 8)
CALLBACK_BACKOFF_SECONDS = env_int("CALLBACK_BACKOFF_SECONDS", 5)
CALLBACK_BACKOFF_MAX_SECONDS = env_int("CALLBACK_BACKOFF_MAX_SECONDS", 300)

# Logs go to stderr, one JSON object per line ("json"), or readable lines for a terminal
# ("text", the DEBUG default). Either way every line carries the request ID.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "reviewapp.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "reviewapp.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
