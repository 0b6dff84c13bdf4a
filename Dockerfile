# syntax=docker/dockerfile:1
# One image for every process: web (the default command), Celery worker and beat, migrations.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# Dependencies in their own stage and venv: every runtime wheel is prebuilt (manylinux),
# so no compiler is needed, and code changes do not reinstall them.
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# requirements.lock: every package pinned with its hashes, compiled from requirements.txt.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock

FROM ${PYTHON_IMAGE} AS runtime
# One OpenMP thread per process: with the default, tree models collapse under concurrent load.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMP_NUM_THREADS=1 \
    DJANGO_SETTINGS_MODULE=reviewapp.settings \
    DATA_DIR=/data \
    MODEL_ARTIFACT_DIR=/data/models \
    STATIC_ROOT=/app/staticfiles

# /data is the only place the app writes; an empty named volume mounted at /data/models
# inherits this ownership on first use.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app \
    && mkdir -p /data/models \
    && chown -R app:app /data

COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY . .
# Code and static files stay root-owned (read-only to the app). The throwaway key exists
# only in this RUN: settings refuse to load without one when DEBUG is off.
RUN SECRET_KEY=build-time-only-not-a-secret DEBUG=0 python manage.py collectstatic --noinput \
    && python -m compileall -q /app

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd (a name
# cannot be checked); the Helm chart runs as the same 10001:10001.
USER 10001:10001
VOLUME ["/data/models"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# The web server (granian, configured by serve.py from the environment).
CMD ["python", "serve.py"]
