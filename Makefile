# make demo   — the demo region, simulated devices and the API on http://127.0.0.1:8000
# make test   — ruff, mypy and the whole test suite (SQLite and PostgreSQL)
# make bench  — every benchmark (booking, fleet, bell storm, health poll); figures printed
#               and written as JSON under benchmarks/results/
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench install

install: $(STAMP)

# Re-installs only when pyproject.toml changed (or the venv is new).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vks demo

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/booking.py --db both
	$(BIN)/python benchmarks/fleet.py
	$(BIN)/python benchmarks/bell_storm.py
	$(BIN)/python benchmarks/health_poll.py
