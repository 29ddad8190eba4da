"""The standard library of modules (python-lib/dataiku_iac/modules/std): its index, each module's
interface, its README (inputs and outputs as module.yml declares them), and its resources, with
example inputs substituted, against the project schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from dataiku_iac.config.schema import check
from dataiku_iac.modules.hashing import hash_tree
from dataiku_iac.modules.registry import STD_ROOT, std_index
from dataiku_iac.modules.sources import resolve_module

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_INPUTS = {
    "ingest_sql": {"connection": "warehouse", "table": "ORDERS"},
    "medallion": {"source": "orders_copy", "keys": ["customer_id"], "aggregations": {"amount": ["sum", "avg"]}},
    "build_and_check": {"datasets": ["sales_gold", "orders_copy"]},
}
_REF = re.compile(r"\$\{(inputs|module)\.([A-Za-z_][A-Za-z0-9_]*)\}")


def _definition(name: str) -> dict[str, Any]:
    return yaml.safe_load((STD_ROOT / name / "module.yml").read_text(encoding="utf-8"))


def _substitute(value: Any, context: dict[str, dict[str, Any]]) -> Any:
    """${inputs.X} / ${module.X}: a whole value keeps its type, inside a string it is text."""
    if isinstance(value, dict):
        return {k: _substitute(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, context) for v in value]
    if not isinstance(value, str):
        return value
    whole = _REF.fullmatch(value)
    if whole:
        return context[whole.group(1)][whole.group(2)]
    return _REF.sub(lambda m: str(context[m.group(1)][m.group(2)]), value)


def test_the_index_lists_every_module_directory():
    index = std_index()
    assert not index.problems
    directories = sorted(p.name for p in STD_ROOT.iterdir() if p.is_dir())
    assert sorted(index.modules) == directories == sorted(EXAMPLE_INPUTS)
    assert all(index.modules[name].path == name and index.modules[name].description for name in directories)


@pytest.mark.parametrize("name", sorted(EXAMPLE_INPUTS))
def test_the_module_declares_a_version_typed_described_inputs_and_its_files(name):
    definition = _definition(name)
    assert definition["module"] == name
    assert re.fullmatch(r"\d+\.\d+\.\d+", definition["version"])
    for input_name, spec in definition["inputs"].items():
        assert spec["type"] and spec["description"], input_name
    assert all((STD_ROOT / name / rel).is_file() for rel in definition["resources"])
    assert set(EXAMPLE_INPUTS[name]) >= {k for k, v in definition["inputs"].items() if "default" not in v}


@pytest.mark.parametrize("name", sorted(EXAMPLE_INPUTS))
def test_the_readme_tables_match_module_yml(name):
    definition = _definition(name)
    readme = (STD_ROOT / name / "README.md").read_text(encoding="utf-8")
    inputs_part, outputs_part = readme.split("## Inputs", 1)[1].split("## Outputs", 1)
    rows = lambda text: re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \|", text, re.M)  # noqa: E731
    documented = {n: (kind.strip(), default.strip()) for n, kind, default in rows(inputs_part)}
    assert set(documented) == set(definition["inputs"])
    for input_name, spec in definition["inputs"].items():
        default = documented[input_name][1]
        if "default" not in spec:
            assert default == "required", input_name
        else:
            shown = spec["default"] if isinstance(spec["default"], str) else json.dumps(spec["default"])
            assert default == f"`{shown}`", input_name
    assert {n for n, _, _ in rows(outputs_part.split("## Resources")[0])} == set(definition["outputs"])
    assert f"source: std/{name}" in readme


@pytest.mark.parametrize("name", sorted(EXAMPLE_INPUTS))
def test_the_resources_with_example_inputs_pass_the_project_schema(name):
    definition = _definition(name)
    inputs = {k: v["default"] for k, v in definition["inputs"].items() if "default" in v}
    inputs.update(EXAMPLE_INPUTS[name])
    context = {"inputs": inputs, "module": {"name": "ex", "prefix": "ex_", "key": ""}}
    document: dict[str, Any] = {"project": {"key": "EXAMPLE", "name": "Example"}}
    for rel in definition["resources"]:
        resources = yaml.safe_load((STD_ROOT / name / rel).read_text(encoding="utf-8"))
        for section, items in _substitute(resources, context).items():
            document.setdefault(section, []).extend(items)
    issues = check(document, "project")
    assert not issues, [f"{i.path}: {i.message}" for i in issues]
    assert "${" not in json.dumps(document)


@pytest.mark.parametrize("name", sorted(EXAMPLE_INPUTS))
def test_a_std_source_resolves_to_the_packaged_directory(name, tmp_path):
    from dataiku_iac.modules.lock import load_lock

    lock = load_lock(tmp_path)
    lock.mode = "record"
    found = resolve_module(tmp_path, f"std/{name}", "~> 1.0", call_file="projects/p.yml", call_line=1, lock=lock)
    assert (found.kind, found.commit, found.version) == ("std", None, _definition(name)["version"])
    assert found.directory == STD_ROOT / name
    assert found.content_hash == hash_tree(STD_ROOT / name, STD_ROOT).content_hash


def test_std_modules_are_package_data():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"modules/std/*.yml", "modules/std/*/*"' in text
