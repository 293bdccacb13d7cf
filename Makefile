# Two commands matter: `make run` (the product on SQLite with demo data) and `make test` (the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# `make run` serves as production does (hashed static files cached for a year, the styled error
# pages); `make run RUN_DEBUG=true` for Django's debug pages, with static files served unhashed.
RUN_DEBUG ?= false

.PHONY: install run test test-dates lint format bench bench-smoke worker clean screenshots mutation compat

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# The browser test drives Debian's chromium (Playwright downloads no browser here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

FAKETIME := /usr/bin/faketime

# The sign-in tests run a real OpenID provider (oidc-provider on Node), installed from its lock file.
OIDC_PROVIDER := tests/oidc_provider/node_modules/.package-lock.json

$(OIDC_PROVIDER): tests/oidc_provider/package.json tests/oidc_provider/package-lock.json
	npm ci --prefix tests/oidc_provider --no-audit --no-fund --loglevel=error

$(FAKETIME):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq faketime >/dev/null

# The gateway benchmark's load comes from Debian's wrk.
WRK := /usr/bin/wrk

$(WRK):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null

run: install
	$(BIN)/python manage.py migrate --no-input
	# Hashed, gzipped copies of the static files, which WhiteNoise serves (settings.STORAGES).
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py load_prices
	$(BIN)/python manage.py dev_login --quiet
	$(BIN)/python manage.py seed_demo --if-empty --url http://127.0.0.1:$(PORT)/
	# Beat's schedule in-process (spend checks, alerts, refreshes): there is no worker here. A
	# background job of this shell ignores Ctrl-C, so the shell stops it on its way out, however
	# uvicorn ended.
	RERATE_IN_PERIODIC=true $(BIN)/python manage.py run_periodic & periodic=$$!; \
	trap 'kill $$periodic 2>/dev/null; wait $$periodic 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM HUP; \
	DJANGO_DEBUG=$(RUN_DEBUG) RERATE_IN_PERIODIC=true $(BIN)/uvicorn attribution_site.asgi:application --host 127.0.0.1 --port $(PORT) --loop uvloop --http httptools --timeout-keep-alive 75

test: install $(CHROMIUM) $(OIDC_PROVIDER)
	$(BIN)/pytest

# The suite under faketime on the first of a month, on New Year's Eve and on 29 February.
test-dates: install $(FAKETIME) $(OIDC_PROVIDER)
	.ci/test-dates

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install $(WRK)
	$(BIN)/python -m bench

# Every benchmark small (about 2 minutes), with the full run's checks, recording nothing; CI runs it.
bench-smoke: install $(WRK)
	$(BIN)/python -m bench --smoke

worker: install
	$(BIN)/celery -A attribution_site worker --beat --loglevel=info

# Mutation testing of the rating and splitting code (docs/testing.md); takes several minutes.
mutation: install
	$(BIN)/mutmut run --max-children 2; $(BIN)/mutmut results

# The door tests (OTLP and gateway) against the newest releases of the provider SDKs and the GenAI
# instrumentations, in a venv of their own; not part of CI (docs/opentelemetry.md). Only those
# packages move to their newest releases: pip's default upgrade strategy moves what they need only
# where it must.
COMPAT := .venv-compat
COMPAT_PACKAGES := openai anthropic opentelemetry-instrumentation-openai opentelemetry-instrumentation-anthropic \
	opentelemetry-semantic-conventions-ai opentelemetry-instrumentation-openai-v2

compat:
	$(PYTHON) -m venv $(COMPAT)
	$(COMPAT)/bin/pip install --quiet --upgrade pip
	$(COMPAT)/bin/pip install --quiet -r requirements-dev.txt
	$(COMPAT)/bin/pip install --quiet --upgrade $(COMPAT_PACKAGES)
	$(COMPAT)/bin/pip check
	@$(COMPAT)/bin/pip list --disable-pip-version-check 2>/dev/null | grep -E '^(openai|anthropic|opentelemetry-(instrumentation-(openai|anthropic|openai-v2)|semantic-conventions-ai|util-genai)) '
	$(COMPAT)/bin/pytest -p no:cacheprovider tests/usage/otlp tests/gateway

clean:
	rm -rf $(VENV) $(COMPAT) var .pytest_cache .ruff_cache .hypothesis mutants tests/oidc_provider/node_modules

screenshots: install
	$(BIN)/python docs/screenshots/capture.py
