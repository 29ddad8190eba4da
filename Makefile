# dataiku-iac — developer entry points. Everything installs into ./.venv.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: dev demo test test-fast test-slow test-browser lint typecheck fmt plugin bench fault clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Editable installs: code changes need no reinstall, dependency changes (the pyproject files) do.
DEV_STAMP := $(VENV)/.dev-installed
$(DEV_STAMP): $(BIN)/python pyproject.toml emulator/pyproject.toml
	$(BIN)/pip install -q -e ./emulator -e '.[dev]'
	@touch $@

dev: $(DEV_STAMP)


# The main job: a plan/apply of the roadmap demo against the bundled DSS emulator.
demo: dev
	$(BIN)/python scripts/demo.py

# The CI suite: everything but the slow sweeps, on PYTEST_WORKERS processes (pytest-xdist; each
# has its own emulator; modules marked xdist_group stay on one worker). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= auto
test: dev
	$(BIN)/python -m pytest -m "not slow and not browser" -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)


test-slow: dev
	$(BIN)/python -m pytest -m "slow" $(PYTEST_ARGS)

# The IaC console in headless Chromium (Debian's package; Playwright never downloads a browser).
CHROMIUM ?= /usr/bin/chromium
test-browser: dev
	@test -x $(CHROMIUM) || { echo "No Chromium at $(CHROMIUM). Install it with:"; \
		echo "  apt-get update && apt-get install -y chromium"; exit 1; }
	$(BIN)/python -c "import playwright" 2>/dev/null || $(BIN)/pip install -q playwright
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pytest -m browser tests/webapp $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check python-lib emulator tests scripts benchmarks

# mypy over python-lib and the emulator; the settings (strict on the pure core) are in pyproject.toml.
typecheck: dev
	$(BIN)/mypy

fmt: dev
	$(BIN)/ruff format python-lib emulator tests scripts benchmarks

plugin: dev
	$(BIN)/python scripts/build_plugin.py

# The performance benchmark (N = 100, 1,000, 10,000 at 20 ms and 0 ms of emulated latency;
# about 20 minutes on 2 cores). BENCH_ARGS="--sizes 100,1000" for a shorter run.
BENCH_ARGS ?=
bench: dev
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

fault: dev
	$(BIN)/python -m pytest -m "slow" tests/fault $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache

