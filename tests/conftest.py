"""Shared test setup. Append-friendly: add fixtures below, keep this block first."""

import sys
from pathlib import Path

# The stand-in for DSS's internal `dataiku` package (tests only).
sys.path.insert(0, str(Path(__file__).resolve().parent / "stand_in"))

pytest_plugins = ["dss_emulator.pytest_plugin"]


# -- a local S3-compatible server (moto over HTTP) for the S3 state backend ---------------------
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3 in a subprocess, one request at a time (see tests/s3_server.py); bucket created."""
    from tests.s3_server import start_s3_server

    server = start_s3_server(tmp_path_factory.mktemp("s3") / "s3-server.log")
    try:
        yield server
    finally:
        server.stop()


# -- Hypothesis: no per-example deadline ------------------------------------------------------
# A deadline fails a property test when one example is slow, which on a loaded CI machine (2
# cores, parallel workers, emulators) is load, not the property: the properties are what is tested.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("dataiku-iac", deadline=None)
_hypothesis_settings.load_profile("dataiku-iac")


# -- the CLI's cache of parsed project files (config/cache.py): on, as for users, but private to
# the test session instead of the user's ~/.cache (subprocesses inherit it) ---------------------
@pytest.fixture(scope="session", autouse=True)
def _config_cache_of_the_session(tmp_path_factory):
    import os

    from dataiku_iac.config.cache import CACHE_ENV

    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("config-cache") / "cache")
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


# -- the module cache (modules/cache.py): private to the test session too, never ~/.cache --------
@pytest.fixture(scope="session", autouse=True)
def _module_cache_of_the_session(tmp_path_factory):
    import os

    from dataiku_iac.modules.cache import CACHE_ENV

    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("module-cache") / "modules")
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


# -- secret values a run remembered to redact (errors.remember_secret) are process-wide: each test
# starts as a fresh CLI process would, so one test's secrets never blank another test's output ----
@pytest.fixture(autouse=True)
def _forget_remembered_secrets():
    from dataiku_iac.errors import forget_secrets

    forget_secrets()
    yield
