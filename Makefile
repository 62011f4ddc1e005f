# Switchyard: `make run` serves the app, `make test` runs the whole suite. Both set up first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTHON ?= python3

# Under `make run` the per-request JSON log lines go to this file, not the terminal
# (REQUEST_LOG= sends them to stderr again; LOG_LEVEL=WARNING drops them).
REQUEST_LOG ?= var/requests.log

.PHONY: run test setup install install-dev lint bench router clean screenshots

# Serving needs only the project's own dependencies; the dev extra (pytest, playwright,
# mypy, ruff, ...) is installed by the targets that use it.
$(VENV)/.serve-installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Switchyard's dependencies into $(VENV) ..."
	@$(VENV)/bin/pip install -q --no-compile --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Switchyard with its dev extra into $(VENV) ..."
	@$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@ $(VENV)/.serve-installed

install: $(VENV)/.serve-installed
install-dev: $(VENV)/.installed

setup: install
	@$(PY) manage.py prepare --no-key --no-static

run: install
	@$(PY) manage.py prepare
	@mkdir -p var
	@DEBUG=$${DEBUG:-1} REQUEST_LOG=$(REQUEST_LOG) $(PY) -m config.devserver --host $(HOST) --port $(PORT)

# The whole suite on the embedded default (SQLite + local memory), then again on shared state
# (PostgreSQL + Redis) without the browser tests: those drive pages over the same ORM and already
# run twice on SQLite (as developed and as deployed); this keeps CI under 15 minutes.
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

test: install-dev
	@echo "== lint and types =="
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@echo "== suite on SQLite + local memory =="
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest $(PYTEST_ARGS)
	@echo "== suite on PostgreSQL + Redis =="
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install-dev setup
	$(PY) -m bench.run

# Rebuild the learned complexity estimator and its evaluation (needs the training extra).
router: install-dev
	$(VENV)/bin/pip install -q -e '.[train]'
	$(PY) manage.py train_router
	$(PY) manage.py evaluate_router --robustness --curves routing/complexity/curves.json

# Every page's screenshot in docs/ (light, dark, phone), from one browser run; a page is one
# entry in tests/browser/test_screenshots.py's PAGES.
screenshots: install-dev
	@SWITCHYARD_UPDATE_SCREENSHOT=1 env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -q -m screenshot tests/browser

clean:
	rm -rf $(VENV) var
