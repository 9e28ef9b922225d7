# Two commands matter: `make demo` and `make test`. Both install what they need first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embedded]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	@deploy/local/services.sh check --broker
	$(BIN)/firewatch demo

test: install
	@deploy/local/services.sh check
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	@deploy/local/services.sh check
	@# Each writes its figures to bench/results/; a bench that misses its target does not stop
	@# the others, and the summary table says which.
	-$(BIN)/python -m bench.ingest
	-$(BIN)/python -m bench.engine
	-$(BIN)/python -m bench.thermal
	-$(BIN)/python -m bench.detection
	-$(BIN)/python -m bench.overview
	-$(BIN)/python -m bench.alert_latency
	-$(BIN)/python -m bench.dispatch_latency
	-$(BIN)/python -m bench.incidents
	-$(BIN)/python -m bench.memory
	-$(BIN)/python -m bench.registry_import
	-$(BIN)/python -m bench.subscriptions
	-$(BIN)/python -m bench.body_limit
	-nice $(BIN)/python -m bench.cluster
	-nice $(BIN)/python -m bench.http_push
	-nice $(BIN)/python -m bench.isapi_push
	-nice $(BIN)/python -m bench.gb26875
	-$(BIN)/python -m bench.workers_start
	-$(BIN)/python -m bench.timeseries_ingest
	-nice $(BIN)/python -m bench.timeseries_horizon
	$(BIN)/python -m bench.summary
