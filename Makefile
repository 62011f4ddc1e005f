# Switchyard: `make run` serves the app, `make test` runs the whole suite. Both set up first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 1
PYTHON ?= python3

.PHONY: run test setup install lint bench router clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

setup: install
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py sync_catalog
	$(PY) manage.py install_default_routes

run: setup
	$(PY) manage.py ensure_api_key local
	$(PY) manage.py collectstatic --noinput -v0
	@echo "Switchyard on http://$(HOST):$(PORT)/  (OpenAI base_url: http://$(HOST):$(PORT)/v1)"
	DEBUG=$${DEBUG:-1} $(PY) manage.py batch worker & WORKER=$$!; \
	trap "kill $$WORKER 2>/dev/null" EXIT INT TERM; \
	DEBUG=$${DEBUG:-1} HOST=$(HOST) PORT=$(PORT) $(PY) -m config.serve \
		--workers $(WORKERS) --host $(HOST) --port $(PORT)

# The whole suite twice: embedded (SQLite + local memory), then shared state (PostgreSQL + Redis).
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

test: install
	@echo "== lint and types =="
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@echo "== suite on SQLite + local memory =="
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest $(PYTEST_ARGS)
	@echo "== suite on PostgreSQL + Redis =="
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	$(PY) -m bench.run

# Rebuild the learned complexity estimator and its evaluation (needs the training extra).
router: install
	$(VENV)/bin/pip install -q -e '.[train]'
	$(PY) manage.py train_router
	$(PY) manage.py evaluate_router --robustness --curves routing/complexity/curves.json

clean:
	rm -rf $(VENV) var
