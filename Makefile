# make demo   — the demo region, simulated devices and the API on http://127.0.0.1:8000
# make test   — ruff, mypy and the whole test suite (SQLite and PostgreSQL)
# make bench  — every benchmark (booking, fleet, bell storm, health poll, web); figures printed
#               and written as JSON under benchmarks/results/
# make lock   — re-resolve requirements/*.txt after a change of pyproject.toml's dependencies
#               (keeps the other pins; `make lock LOCK_ARGS=--upgrade` moves everything to the
#               newest allowed, `LOCK_ARGS='--upgrade-package rq'` one package)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/test.txt
# The resolver of the lock files, pinned so that `make lock` gives the same answer anywhere.
UV := uv==0.13.8
LOCK_FLAGS := --no-config --universal --python-version 3.11 --generate-hashes --quiet
LOCK_ARGS ?=

.PHONY: demo test lint typecheck pytest bench install lock system-packages

install: $(STAMP)

# Installs exactly the locked versions (hash-checked: what CI tested), then the project
# itself without resolving again. Re-runs when the lock or pyproject.toml changed.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e '.[test]'
	touch $(STAMP)

# requirements/test.txt: the test and sim extras and the service (`make test`, `make demo`);
# requirements/prod.txt: the service alone, at the same versions (a production install:
# pip install -r requirements/prod.txt && pip install --no-deps .);
# requirements/onvif-zeep.txt: the onvif-zeep conformance run's own venv.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet '$(UV)'
	UV_CUSTOM_COMPILE_COMMAND='make lock' $(BIN)/uv pip compile $(LOCK_FLAGS) $(LOCK_ARGS) \
		pyproject.toml --extra test -o requirements/test.txt
	UV_CUSTOM_COMPILE_COMMAND='make lock' $(BIN)/uv pip compile $(LOCK_FLAGS) $(LOCK_ARGS) \
		pyproject.toml -c requirements/test.txt -o requirements/prod.txt
	UV_CUSTOM_COMPILE_COMMAND='make lock' $(BIN)/uv pip compile $(LOCK_FLAGS) $(LOCK_ARGS) \
		requirements/onvif-zeep.in -o requirements/onvif-zeep.txt

demo: $(STAMP)
	$(BIN)/vks demo

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian packages the tests drive, installed when missing (as root, with apt): nginx for the
# production topology (tests/deploy/test_topology.py, deploy/nginx/) and Chromium for the
# web interface's browser journeys (tests/web; Playwright cannot download its own browsers
# here). Without root or apt it says what to install; the tests that need them then skip
# (or fail under CI=true).
system-packages:
	@missing=""; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing Debian packages (install them as root):$$missing"; \
		fi; \
	fi

# One pytest worker per core (pytest-xdist), each test file on one worker: its module
# fixtures (servers, simulators, schemas) are built once. PYTEST_ARGS adds options.
PYTEST_WORKERS ?= auto
pytest: $(STAMP)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: system-packages lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/booking.py --db both
	$(BIN)/python benchmarks/fleet.py
	$(BIN)/python benchmarks/bell_storm.py
	$(BIN)/python benchmarks/health_poll.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/web.py
	$(BIN)/python benchmarks/web_grid.py
	$(BIN)/python benchmarks/web_region.py
	$(BIN)/python benchmarks/reports.py
