# The two set-up commands of the README:
#   make run   - install and start the whole chain (Procfile.dev under honcho): the local Vercel Blob
#                server, nanio (S3) with its bucket, Redis + Celery worker + beat when redis-server is
#                installed, and the app on http://127.0.0.1:8000; one Ctrl-C stops them all
#   make test  - install everything (Python packages and the test peers) and run the whole suite
PYTHON ?= python3.11
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Ports of the local servers written into a new .env (devtools/devrun/env_file.py).
RUN_BLOB_PORT ?= 8301
RUN_S3_PORT ?= 8302
RUN_REDIS_PORT ?= 8303
# Debian installs wait up to 10 minutes for another install's lock instead of failing.
APT_GET = DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600

.PHONY: run test install install-run install-dev system-test-deps lint bench worker clean-data

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-run: requirements.txt requirements-run.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-run.txt
	touch $(VENV)/.installed $@

$(VENV)/.installed-dev: requirements.txt requirements-run.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $(VENV)/.installed-run $@

install: $(VENV)/.installed
install-run: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

# The development .env (never committed): DEBUG on, a random secret key, and tokens and endpoints of
# the local servers, each group written once and only when .env does not set it already (real
# credentials put there are used instead).
run: install-run
	RUN_BLOB_PORT=$(RUN_BLOB_PORT) RUN_S3_PORT=$(RUN_S3_PORT) RUN_REDIS_PORT=$(RUN_REDIS_PORT) \
	  $(BIN)/python -m devtools.devrun.env_file .env
	PATH="$(abspath $(BIN)):$$PATH" PYTHONUNBUFFERED=1 INSTANTORY_LEFT_OUT_REPORTED=1 RUN_HOST=$(HOST) RUN_PORT=$(PORT) \
	  $(BIN)/honcho --no-colour -e /dev/null -f Procfile.dev start

# Debian packages the tests talk to for real: Redis (broker) and Chromium (browser tests).
system-test-deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing (apt-get)"; \
	  $(APT_GET) update -qq && $(APT_GET) install -y -qq $$missing >/dev/null; \
	fi

test: install-dev system-test-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=instantory.settings_test
	$(BIN)/pytest $(PYTEST_ARGS)

# The benchmark suite (README): rewrites docs/benchmarks.md. BENCH_ARGS='--only memory,api' narrows it.
bench: install-dev
	@command -v wrk >/dev/null 2>&1 || ($(APT_GET) update -qq && $(APT_GET) install -y -qq wrk >/dev/null)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/ruff format --check .

worker: install
	$(BIN)/celery -A instantory worker --loglevel=info --pool=solo

clean-data:
	$(BIN)/python manage.py embedded_db stop || true
	rm -rf .data
