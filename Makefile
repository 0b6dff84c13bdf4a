# The two set-up commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The locks (every package, pinned and hashed) are what gets installed; the .txt files are the
# top-level pins they are compiled from (the commands are in each lock's header).
LOCKS := requirements.lock requirements-dev.lock
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt $(LOCKS) | sha256sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo samples more of the automatic decisions, and reviews a quarter of the rest blind,
# than a deployment would by default, so its scorecard has something to show.
DEMO_ENV := DEBUG=1 DEMO_MODE=1 AUDIT_SAMPLE_RATE=0.03 BLIND_REVIEW_RATE=0.25

.PHONY: run test lint format worker beat serve clean

$(STAMP): requirements.txt requirements-dev.txt $(LOCKS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock > $(VENV)/pip.log 2>&1 \
		|| { grep -v "^WARNING: Location" $(VENV)/pip.log; exit 1; }
	$(BIN)/python -c "import django, rest_framework, celery, shap, sklearn"
	rm -f $(VENV)/.installed-* && touch $@

## run: install, migrate, train or load the demo model, seed demo data, serve on $(HOST):$(PORT)
run: $(STAMP)
	mkdir -p var
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo_history
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo_challenger
	$(DEMO_ENV) OMP_NUM_THREADS=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: lint, import layers, types, then the whole suite (set DATABASE_URL / REDIS_URL for
## PostgreSQL and a real broker)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DEBUG=1 $(BIN)/mypy
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports && DEBUG=1 $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

## worker / beat / serve: the production processes, startable by hand
worker: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/celery -A reviewapp worker --loglevel=INFO --concurrency=2

beat: $(STAMP)
	$(BIN)/celery -A reviewapp beat --loglevel=INFO --schedule=var/celerybeat-schedule

serve: $(STAMP)
	$(BIN)/python manage.py collectstatic --noinput
	OMP_NUM_THREADS=1 WEB_LISTEN=$(HOST):$(PORT) $(BIN)/python serve.py

clean:
	rm -rf $(VENV) var staticfiles
