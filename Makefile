# Quick start: `make run` (gateway + simulator under gunicorn) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements.lock
UV_VERSION := 0.13.9

.PHONY: run test install lock bench dashboard attack clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs are locked: exact versions and hashes from $(LOCK) (runtime, test
# extra and the build backend), then the project itself without dependencies.
# `pip check` fails loudly when pyproject.toml gained a dependency the lock lacks.
$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $@

install: $(STAMP)

# Regenerate $(LOCK) from pyproject.toml after changing a dependency (needs the
# package index, nothing else): uv resolves for every platform and every Python
# >= 3.11, ignoring pip's and uv's local configuration. `make lock LOCK_ARGS=--upgrade`
# also moves every pin to the newest allowed version.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
	  | $(BIN)/uv pip compile --no-config --quiet pyproject.toml - --extra test --extra docs --generate-hashes --universal \
	      --python-version 3.11 --custom-compile-command 'make lock' $(LOCK_ARGS) -o $(LOCK)

run: install
	./scripts/run-local

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# docs/dashboard.png: the Grafana dashboard's panels drawn from a real run (simulator, gateway, Prometheus).
dashboard: install
	$(BIN)/python -m bench.dashboard $(DASHBOARD_ARGS)

# slowhttptest's floods (slow headers, slow body, slow read, range) against the
# shipped config, 60 s each at full size, one at a time, loopback only: about
# 5 minutes; prints a normal client's p50/p99 and failures per mode.
attack: install
	$(BIN)/python tests/slowhttp.py $(ATTACK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
