# The two commands: `make run` (set up and serve with demo data) and `make test` (every check).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest install bench mutation clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/riskreg init-secret >/dev/null
	$(BIN)/riskreg db upgrade
	$(BIN)/riskreg setup
	@echo ""
	@echo "RiskReg is serving on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	@echo ""
	@# The job worker runs beside gunicorn; Ctrl+C (or gunicorn ending) stops it too.
	$(BIN)/riskreg worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $(WORKERS) --access-logfile - "riskreg:create_app()"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# Mutation testing of the pure core (not part of `make test`): results in bench/MUTATION.md.
# FILES="scoring movement" limits it; CHILDREN=2 runs two mutants at a time.
mutation: $(STAMP)
	$(BIN)/python bench/mutation.py --children $(or $(CHILDREN),1) $(if $(FILES),--files $(FILES))

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache mutants
