"""`dataiku-iac modules get|update|search|show` as a user runs them, on local bare Git
repositories (no network, no DSS): the lock file written, honoured, updated; --offline from the
cache; registries searched and shown; errors at the call's file and line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from tests.support import run_cli, write_config
from tests.support.gitrepo import BareRepo

LOCAL_MODULE = {"modules/local/module.yml": "module: local\nresources: [r.yml]\n", "modules/local/r.yml": "datasets: []\n"}


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC"))}
    env.update(NO_COLOR="1", DATAIKU_IAC_MODULE_CACHE=str(tmp_path / "module-cache"), HOME=str(tmp_path / "home"))
    return env


def _project(calls: str) -> str:
    return "project:\n  key: SHOP\n  name: Shop\nmodules:\n" + calls


@pytest.fixture
def repo(tmp_path) -> BareRepo:
    repo = BareRepo(tmp_path / "repo")
    for version, content in (("1.1.0", "[a]"), ("1.2.0", "[a, b]"), ("2.0.0", "[c]")):
        repo.commit({"ingest/module.yml": f"module: ingest\nversion: {version}\nresources: [r.yml]\n",
                     "ingest/r.yml": f"datasets: {content}\n"})
        repo.tag(f"v{version}")
    return repo


@pytest.fixture
def config(tmp_path, repo) -> Path:
    calls = (f"  - name: orders\n    source: git+{repo.url}//ingest\n    version: \"~> 1.1\"\n    inputs: {{}}\n"
             "  - name: raw\n    source: std/ingest_sql\n    inputs: {connection: dw, table: RAW}\n"
             "  - name: mine\n    source: ../modules/local\n")
    return write_config(tmp_path / "cfg", {"shop.yml": _project(calls)}, files=LOCAL_MODULE)


def _lock(config: Path) -> dict:
    return yaml.safe_load((config / "iac.lock.yml").read_text())


def test_get_locks_git_and_std_sources_then_honours_the_lock_until_update(tmp_path, repo, config):
    env = _env(tmp_path)
    first = run_cli(config, "modules", "get", env=env)
    assert "orders: git+" in first.stdout and "-> git 1.2.0" in first.stdout and "projects/shop.yml:6" in first.stdout
    assert "iac.lock.yml written." in first.stdout
    lock = _lock(config)
    assert [(m["kind"], m.get("resolved")) for m in lock["modules"]] == [("git", "1.2.0"), ("std", "1.0.0")]
    assert lock["modules"][0]["calls"] == ["orders"] and lock["declarations_hash"].startswith("sha256:")
    assert all(m["content_hash"].startswith("h1:") for m in lock["modules"])
    written = (config / "iac.lock.yml").read_bytes()

    repo.commit({"ingest/r.yml": "datasets: [a, b, new]\n"})
    repo.tag("v1.3.0")
    again = run_cli(config, "modules", "get", env=env)
    assert "iac.lock.yml is up to date." in again.stdout and "-> git 1.2.0" in again.stdout
    assert (config / "iac.lock.yml").read_bytes() == written

    updated = run_cli(config, "modules", "update", "orders", "--json", env=env).json()
    assert [c["resolved"] for c in updated["modules"] if c["call"] == "orders"] == ["1.3.0"]
    assert updated["updated"][0]["before"]["resolved"] == "1.2.0" and updated["lock_written"]
    assert _lock(config)["modules"][0]["resolved"] == "1.3.0"
    assert _lock(config)["modules"][1] == lock["modules"][1]  # std untouched


def test_get_works_offline_from_the_cache_and_fails_clearly_without_it(tmp_path, repo, config):
    env = _env(tmp_path)
    run_cli(config, "modules", "get", env=env)
    shutil.rmtree(repo.path)
    offline = run_cli(config, "modules", "get", "--offline", env=env)
    assert "iac.lock.yml is up to date." in offline.stdout
    shutil.rmtree(tmp_path / "module-cache")
    failed = run_cli(config, "modules", "get", "--offline", env=env, expect=1)
    assert "projects/shop.yml:6" in failed.stderr and "is not in the module cache" in failed.stderr


def test_errors_name_the_call_and_nothing_is_written(tmp_path, repo):
    calls = (f"  - name: orders\n    source: git+{repo.url}//ingest\n    version: \"~> 5.0\"\n"
             "  - name: gone\n    source: ../modules/nowhere\n")
    config = write_config(tmp_path / "cfg", {"shop.yml": _project(calls)})
    result = run_cli(config, "modules", "get", env=_env(tmp_path), expect=1)
    assert 'projects/shop.yml:6: error: modules[0].version: module' in result.stderr
    assert 'no version matches "~> 5.0"' in result.stderr
    assert "projects/shop.yml:9:13: error: modules[1].source: no module directory at 'modules/nowhere'" in result.stderr
    assert "2 problems" in result.stderr
    assert not (config / "iac.lock.yml").exists()
    unknown = run_cli(config, "modules", "update", "nosuch", env=_env(tmp_path), expect=1)
    assert "no module call named 'nosuch' (calls: gone, orders)" in unknown.stderr


def test_search_and_show_read_std_and_a_git_registry(tmp_path):
    registry = BareRepo(tmp_path / "registry")
    registry.commit({"index.yml": "registry: 1\nmodules:\n  churn:\n    path: ml/churn\n    description: Churn scoring\n"
                                  "    keywords: [ml]\n",
                     "ml/churn/module.yml": "module: churn\ninputs:\n  token: {type: string, sensitive: true, default: "
                                            "not-to-be-shown}\nresources: [r.yml]\n",
                     "ml/churn/r.yml": "datasets: []\n"})
    registry.tag("churn/v0.3.0")
    config = write_config(tmp_path / "cfg", {}, iac=f"version: 1\nmodule_registries:\n  acme: git+{registry.url}\n")
    env = _env(tmp_path)
    found = run_cli(config, "modules", "search", "ingest", env=env).stdout
    assert found.startswith("std/ingest_sql") and "1.0.0" in found
    everything = run_cli(config, "modules", "search", "--json", env=env).json()["modules"]
    assert {m["source"] for m in everything} == {"std/ingest_sql", "std/medallion", "std/build_and_check", "acme/churn"}
    assert run_cli(config, "modules", "search", "scoring", "--registry", "acme", env=env).stdout.split() == [
        "acme/churn", "0.3.0", "Churn", "scoring"]
    assert run_cli(config, "modules", "search", "nothing-like-this", env=env).stdout == "No module matches.\n"

    shown = run_cli(config, "modules", "show", "std/medallion", env=env).stdout
    assert "keys (array, required, minItems 1, items {\"type\": \"string\", \"minLength\": 1})" in shown and "gold = ${module.prefix}gold" in shown and "README.md" in shown
    churn = run_cli(config, "modules", "show", "acme/churn", "--json", env=env).json()
    assert churn["versions"] == ["0.3.0"] and churn["inputs"][0]["sensitive"] and "default" not in churn["inputs"][0]
    text = run_cli(config, "modules", "show", "acme/churn", env=env).stdout
    assert "not-to-be-shown" not in text and "token (string, (sensitive))" in text
    assert "no module registry named 'other'" in run_cli(config, "modules", "show", "other/x", env=env, expect=1).stderr
    assert "has no module 'nope'" in run_cli(config, "modules", "show", "std/nope", env=env, expect=1).stderr
    assert run_cli(config, "modules", "show", "churn", env=env).stdout.startswith("acme/churn 0.3.0\n")
    assert "no registry has a module 'nope'" in run_cli(config, "modules", "show", "nope", env=env, expect=1).stderr


def test_a_broken_registry_index_is_reported_and_the_rest_listed(tmp_path):
    registry = BareRepo(tmp_path / "registry")
    registry.commit({"index.yml": "registry: 1\nmodules:\n  good: {path: good, description: Fine}\n"
                                  "  Bad-Name: {path: bad}\n  nopath: {description: no path}\n"})
    config = write_config(tmp_path / "cfg", {}, iac=f"version: 1\nmodule_registries:\n  acme: git+{registry.url}\n")
    result = run_cli(config, "modules", "search", "--registry", "acme", env=_env(tmp_path))
    assert result.stdout.split() == ["acme/good", "-", "Fine"]
    assert "acme:index.yml:4: error: modules.Bad-Name: a module name is lowercase letters" in result.stderr
    assert "acme:index.yml:5: error: modules.nopath.path: each module needs a 'path'" in result.stderr


def test_a_module_cache_open_to_other_users_is_refused(tmp_path, repo, config):
    env = _env(tmp_path)
    cache = tmp_path / "module-cache"
    cache.mkdir(mode=0o777)
    cache.chmod(0o777)
    result = run_cli(config, "modules", "get", env=env, expect=1)
    assert "projects/shop.yml:6:13: error: modules[0].source:" in result.stderr
    assert "refusing the module cache directory ($DATAIKU_IAC_MODULE_CACHE)" in result.stderr
    assert "expected 700" in result.stderr


def test_get_reads_the_calls_of_python_project_files_too(tmp_path):
    project = """from dataiku_iac.dsl import ModuleCall, Project, ProjectFile

config = ProjectFile(
    project=Project(key="PY", name="Python"),
    modules=[ModuleCall(name="nightly", source="std/build_and_check", version="~> 1.0",
                        inputs={"datasets": ["x"]})],
)
"""
    config = write_config(tmp_path / "cfg", {"py.py": project})
    result = run_cli(config, "modules", "get", env=_env(tmp_path))
    assert "nightly: std/build_and_check" in result.stdout and "(projects/py.py:5)" in result.stdout
    assert _lock(config)["modules"][0]["calls"] == ["nightly"]


def test_search_takes_several_words_and_show_a_local_module_with_its_checks(tmp_path):
    pair = {"modules/pair/module.yml": "module: pair\nversion: 0.2.0\ndescription: Raw and clean\ninputs:\n"
                                       "  table: {type: string, pattern: \"^[A-Z]+$\"}\n"
                                       "  format: {type: string, enum: [csv, parquet], default: csv}\n"
                                       "  token: {type: string, sensitive: true, default: not-to-be-shown}\n"
                                       "resources: [r.yml]\n",
            "modules/pair/r.yml": "datasets: []\n"}
    config = write_config(tmp_path / "cfg", {}, files=pair)
    env = _env(tmp_path)
    both = run_cli(config, "modules", "search", "sql", "ingest", "--offline", env=env).stdout  # every word, unquoted
    assert both.startswith("std/ingest_sql") and "medallion" not in both
    assert run_cli(config, "modules", "search", "sql", "nothing-like-this", "--offline", env=env).stdout == "No module matches.\n"

    shown = run_cli(config, "modules", "show", "./modules/pair", env=env).stdout
    assert shown.startswith("./modules/pair 0.2.0\n  Raw and clean\n"), shown
    assert 'table (string, required, pattern "^[A-Z]+$")' in shown
    assert 'format (string, default "csv", enum ["csv", "parquet"])' in shown
    assert "not-to-be-shown" not in shown and "token (string, (sensitive))" in shown
    as_json = run_cli(config, "modules", "show", "./modules/pair", "--json", env=env).json()
    assert as_json["inputs"][1]["checks"] == {"enum": ["csv", "parquet"]}
    assert "not-to-be-shown" not in json.dumps(as_json)
    missing = run_cli(config, "modules", "show", "./modules/none", env=env, expect=1).stderr
    assert "no module at './modules/none'" in missing and "registry" not in missing
