"""plugin.json, every component descriptor, the code env, and the zip `make plugin` builds."""

from __future__ import annotations

import ast
import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import build_plugin  # noqa: E402

PARAM_TYPES = {
    "BOOLEAN", "DATE", "DOUBLE", "DOUBLES", "INT", "INTS", "PASSWORD", "STRING", "STRINGS", "TEXTAREA",
    "ARRAY", "KEY_VALUE_LIST", "MAP", "MULTISELECT", "OBJECT_LIST", "SELECT",
    "API_SERVICE", "API_SERVICE_VERSION", "BUNDLE", "CLUSTER", "CODE_ENV", "COLUMN", "COLUMNS", "CONNECTION",
    "CONNECTIONS", "DATASET", "DATASETS", "DATASET_COLUMN", "DATASET_COLUMNS", "KNOWLEDGE_BANK", "LLM",
    "MANAGED_FOLDER", "ML_TASK", "PLUGIN", "PROJECT", "SAVED_MODEL", "SCENARIO", "VISUAL_ANALYSIS",
    "PRESET", "PRESETS", "CREDENTIAL_REQUEST", "SEPARATOR",
}
RESULT_TYPES = {"NONE", "HTML", "URL", "RESULT_TABLE", "FILE", "FOLDER_FILE", "JSON_OBJECT"}
COMPONENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def strict_json(path: Path) -> dict:
    def no_duplicates(pairs: list) -> dict:
        keys = [k for k, _ in pairs]
        dupes = {k for k in keys if keys.count(k) > 1}
        assert not dupes, f"{path}: duplicate keys {dupes}"
        return dict(pairs)

    return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)


def descriptors(kind: str, name: str) -> list:
    base = REPO / kind
    return sorted(p for p in base.glob(f"*/{name}")) if base.is_dir() else []


def check_params(path: Path, params: list) -> None:
    names = [p.get("name") for p in params if p.get("type") != "SEPARATOR"]
    assert all(isinstance(n, str) and n.isidentifier() for n in names), f"{path}: bad param names {names}"
    assert len(names) == len(set(names)), f"{path}: duplicate param names"
    presets = {p.name for p in (REPO / "parameter-sets").glob("*") if p.is_dir()}
    for param in params:
        assert param.get("type") in PARAM_TYPES, f"{path}: {param.get('name')}: unknown type {param.get('type')}"
        if param["type"] in ("SELECT", "MULTISELECT"):
            assert param.get("selectChoices") or param.get("getChoicesFromPython"), f"{path}: {param['name']}"
            if "defaultValue" in param and param.get("selectChoices"):
                assert param["defaultValue"] in {c["value"] for c in param["selectChoices"]}, f"{path}: {param['name']}"
        if param["type"] in ("PRESET", "PRESETS"):
            assert param.get("parameterSetId") in presets, f"{path}: {param['name']}: unknown parameter set"
        if param["type"] == "CREDENTIAL_REQUEST":
            assert "parameter-sets" in path.parts, f"{path}: CREDENTIAL_REQUEST only in parameter sets"


def test_plugin_json():
    desc = strict_json(REPO / "plugin.json")
    assert desc["id"] == "dataiku-iac" and re.match(r"^\d+\.\d+\.\d+", desc["version"])
    assert {"label", "description"} <= set(desc["meta"])
    check_params(REPO / "plugin.json", desc.get("params", []))
    from dataiku_iac import __version__

    assert desc["version"] == __version__


@pytest.mark.parametrize("path", descriptors("python-runnables", "runnable.json"), ids=lambda p: p.parent.name)
def test_macro_descriptor(path):
    desc = strict_json(path)
    assert COMPONENT_ID.match(path.parent.name)
    assert {"label", "description"} <= set(desc["meta"])
    assert desc["resultType"] in RESULT_TYPES
    assert desc["impersonate"] is True
    assert set(desc.get("permissions", [])) <= {"ADMIN", "READ_CONF", "WRITE_CONF"}
    assert isinstance(desc.get("requiresGlobalAdmin", False), bool)
    check_params(path, desc["params"])
    # DSS loads exactly one Runnable subclass from runnable.py.
    tree = ast.parse((path.parent / "runnable.py").read_text())
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and any(getattr(b, "id", "") == "Runnable" for b in n.bases)]
    assert len(classes) == 1, f"{path.parent}: {len(classes)} Runnable subclasses"


def test_macro_permissions_are_sensible():
    perms = {p.parent.name: strict_json(p)["permissions"] for p in descriptors("python-runnables", "runnable.json")}
    assert perms["apply"] == ["ADMIN"] and perms["import-project"] == ["ADMIN"]
    assert perms["plan"] == ["READ_CONF"] and perms["drift-check"] == ["READ_CONF"]


@pytest.mark.parametrize("path", descriptors("python-steps", "step.json"), ids=lambda p: p.parent.name)
def test_step_descriptor(path):
    desc = strict_json(path)
    assert COMPONENT_ID.match(path.parent.name) and (path.parent / "step.py").is_file()
    assert {"label", "description"} <= set(desc["meta"])
    check_params(path, desc["params"])


@pytest.mark.parametrize("path", descriptors("custom-recipes", "recipe.json"), ids=lambda p: p.parent.name)
def test_recipe_descriptor(path):
    desc = strict_json(path)
    assert COMPONENT_ID.match(path.parent.name) and (path.parent / "recipe.py").is_file()
    assert desc["kind"] == "PYTHON"
    for role in desc["inputRoles"] + desc["outputRoles"]:
        assert {"name", "arity"} <= set(role) and role["arity"] in ("UNARY", "NARY")
    check_params(path, desc["params"])


@pytest.mark.parametrize("path", descriptors("parameter-sets", "parameter-set.json"), ids=lambda p: p.parent.name)
def test_parameter_set_descriptor(path):
    desc = strict_json(path)
    check_params(path, desc["params"])


@pytest.mark.parametrize("path", descriptors("webapps", "webapp.json"), ids=lambda p: p.parent.name)
def test_webapp_descriptor_is_strict_json(path):
    desc = strict_json(path)
    assert "meta" in desc and "baseType" in desc
    check_params(path, desc.get("params", []))


def test_code_env_pins_what_the_engine_needs():
    desc = strict_json(REPO / "code-env" / "python" / "desc.json")
    assert "PYTHON39" in desc["acceptedPythonInterpreters"]
    spec = (REPO / "code-env" / "python" / "spec" / "requirements.txt").read_text()
    names = {re.split(r"[<>=!~;\s\[]", line.strip(), maxsplit=1)[0].lower() for line in spec.splitlines() if line.strip() and not line.startswith("#")}
    pyproject = (REPO / "pyproject.toml").read_text()
    block = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    engine = {re.split(r"[<>=!~;\s\[]", d, maxsplit=1)[0].lower() for d in re.findall(r'"([^"]+)"', block)}
    # DSS gives every code env its own dataikuapi (the DSS version's): never pin it in the plugin env.
    assert "dataiku-api-client" not in names
    assert engine - {"dataiku-api-client"} <= names, engine - names
    # Issue 13: the run-tests macro and step run `sql` rules on DuckDB; `pip install .[tests]` gets it too.
    assert "duckdb" in names
    assert re.search(r'^tests = \["duckdb[^"]*"\]', pyproject, re.M), "the `tests` extra brings DuckDB"


def test_zip_is_laid_out_as_dss_installs_it(tmp_path):
    target = build_plugin.build(REPO, tmp_path)
    assert target.name == "dataiku-iac-plugin-0.1.0.zip"
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert json.loads(archive.read("plugin.json"))["id"] == "dataiku-iac"
    assert names == sorted(names)
    tops = {n.split("/", 1)[0] for n in names}
    assert tops <= {"plugin.json", *build_plugin.COMPONENT_DIRS}
    assert {"python-lib", "python-runnables", "python-steps", "custom-recipes", "code-env"} <= tops
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n or n.endswith(".pyc") or ".egg-info" in n]
    for kind, name in (("python-runnables", "runnable"), ("python-steps", "step"), ("custom-recipes", "recipe"),
                       ("python-project-standards-check-specs", "project_standards_check_spec")):
        for desc in descriptors(kind, f"{name}.json"):
            folder = desc.parent.name
            assert f"{kind}/{folder}/{name}.json" in names and f"{kind}/{folder}/{name}.py" in names
    assert "python-lib/dataiku_iac/dss/service.py" in names
    assert "python-lib/dataiku_iac/config/schemas/project.schema.json" in names
    assert "code-env/python/spec/requirements.txt" in names
    # Reproducible: building twice gives the same bytes.
    again = build_plugin.build(REPO, tmp_path / "again")
    assert again.read_bytes() == target.read_bytes()
