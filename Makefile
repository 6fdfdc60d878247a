# Thin targets: the logic lives in the `loadlab` CLI and scripts/, where it is tested.
VENV ?= .venv
PY := $(VENV)/bin/python
LOADLAB := $(VENV)/bin/loadlab
# the unit layer: a worker per core, an idle one taking half of the busy one's remaining tests;
# no fuzzing there, so without Hypothesis's plugin (2 s of imports in every worker)
UNIT_LAYER := -n auto --dist worksteal -p no:hypothesispytest tests/unit

.PHONY: setup test test-fast lint format bench serve loadtest sweep calibrate history dashboards up down loadtest-compose open-run clean

setup: $(VENV)/.installed  ## create .venv and install everything (apt packages too, on Debian)

$(VENV)/.installed: pyproject.toml requirements.lock scripts/setup
	scripts/setup $(VENV)
	touch $@

test: setup  ## the whole suite: the unit layer, then real servers, PostgreSQL, Prometheus and Locust
	$(VENV)/bin/pytest $(UNIT_LAYER)
	$(VENV)/bin/pytest --durations=30 --ignore=tests/unit

test-fast: setup  ## the unit layer alone: no process, no network, on every core
	$(VENV)/bin/pytest $(UNIT_LAYER)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

loadtest: setup  ## the main job: the claims suite, ~3 min of load; pass options with ARGS="--duration 20"
	$(LOADLAB) run --suite claims $(ARGS)

soak: setup  ## a long constant load on both targets, a checkpoint a minute, a verdict by trend (30 min); ARGS="--duration 5m"
	$(LOADLAB) soak $(ARGS)

sweep: setup  ## worker-count tuning: each configuration's capacity under the SLO, a model, a recommendation; ARGS="--workers 1,2,4 --target async"
	$(LOADLAB) sweep $(ARGS)

history: setup  ## every stored run and sweep over time with Apache Otava's change points; exit 1 when the newest run regressed
	$(LOADLAB) history $(ARGS)

calibrate: setup  ## this machine's noise between identical runs, which `loadlab compare` requires single runs to exceed (~4 min); ARGS="--pairs 5"
	$(LOADLAB) calibrate $(ARGS)

up: setup  ## the stack in containers (needs Docker and .env): build, start, wait until healthy, print the URLs
	$(LOADLAB) compose up $(if $(WORKERS_LOCUST),--workers $(WORKERS_LOCUST)) $(ARGS)

down: setup  ## stop the containers (the data volumes stay)
	$(LOADLAB) compose down

loadtest-compose: setup  ## the claims suite run inside the stack (make up first); ARGS="--duration 20" as for loadtest
	$(LOADLAB) compose loadtest --suite claims $(ARGS)

open-run: setup  ## serve a native run's Prometheus data in the stack and point its Grafana at it: RUN=<run_id>
	$(LOADLAB) compose open $(RUN)

dashboards: setup  ## regenerate prometheus/rules/ and grafana/dashboards/ from loadlab/rules.py and loadlab/dashboards/
	$(LOADLAB) generate

bench: setup  ## side-by-side benchmarks; prints ratios
	$(LOADLAB) bench $(ARGS)

serve: setup  ## the async target on http://127.0.0.1:8000 (TARGET=sync SERVER=gunicorn-uvicorn WORKERS=4 ...)
	$(LOADLAB) serve --target $(or $(TARGET),async) --server $(or $(SERVER),uvicorn) --workers $(or $(WORKERS),1)

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
