"""`dataiku-iac convert` keeps a project's meaning both ways: over every project file of the
examples and of the golden planner cases, YAML -> Python loads to the same data, the Python file
converted back to YAML does too, and the plans (golden cases) and desired models (examples, every
environment) of the converted configurations equal the originals'. A property test does the
same on variations of those files (items left out, values turned into `${...}` references)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from dataiku_iac.builder import build_desired
from dataiku_iac.config import load_config
from dataiku_iac.config.pyconfig import load_python_project
from dataiku_iac.config.yamlsafe import parse_yaml
from dataiku_iac.dsl.convert import ConvertError, convert_file, project_from_data, to_python
from dataiku_iac.errors import ConfigError
from dataiku_iac.model import SourceRef
from dataiku_iac.planner.plan import PlanOptions
from dataiku_iac.planner.planner import plan
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.planner.golden_support import load_observation, load_state

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if (p / "projects").is_dir())
GOLDEN = sorted({p.parents[1] for p in (ROOT / "tests" / "golden").rglob("config/projects/*.yml")})
CORPUS = sorted(f for d in [*EXAMPLES, *GOLDEN] for f in (d / "projects").glob("*.yml"))


def read(text: str) -> Any:
    """A YAML text as the loader reads it (YAML 1.2: `on:` is a string, not PyYAML's True)."""
    parsed = parse_yaml(text, "p.yml")
    assert parsed.usable, parsed.diagnostics
    return parsed.data


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def converted_copy(config: Path, tmp: Path) -> Path:
    """A copy of the configuration with every YAML project file replaced by its Python conversion."""
    copy = tmp / "converted"
    shutil.copytree(config, copy)
    for yml in sorted((copy / "projects").glob("*.yml")):
        rel = yml.relative_to(copy).as_posix()
        text, suffix = convert_file(copy, rel)
        assert suffix == ".py"
        yml.with_suffix(".py").write_text(text, encoding="utf-8")
        yml.unlink()
    return copy


def test_the_corpus_is_not_empty() -> None:
    assert len(EXAMPLES) >= 4 and len(GOLDEN) >= 10 and len(CORPUS) >= 15


@pytest.mark.parametrize("yml", CORPUS, ids=_id)
def test_yaml_to_python_to_yaml_keeps_the_data(yml: Path, tmp_path: Path) -> None:
    config = yml.parents[1]
    rel = yml.relative_to(config).as_posix()
    written = read(yml.read_text(encoding="utf-8"))
    copy = converted_copy(config, tmp_path)
    python = yml.relative_to(config).with_suffix(".py").as_posix()
    loaded = load_python_project(copy, python)
    assert loaded.diagnostics == [] and loaded.data == written
    back, suffix = convert_file(copy, python)
    assert suffix == ".yml" and read(back) == written
    assert rel.endswith(".yml")


@pytest.mark.parametrize("case", GOLDEN, ids=lambda p: p.parent.name)
def test_a_golden_case_converted_to_python_plans_the_same(case: Path, tmp_path: Path) -> None:
    copy = converted_copy(case, tmp_path)
    assert plan_json(copy, case.parent) == plan_json(case, case.parent)


def plan_json(config: Path, case: Path) -> str:
    try:
        desired = build_desired(load_config(config, "dev"))
    except ConfigError as exc:
        return "config error: " + "\n".join(f"{d.path}: {d.message}" for d in exc.diagnostics)
    options_file = case / "options.json"
    options = json.loads(options_file.read_text()) if options_file.exists() else {}
    try:
        result = plan(desired, load_state(case / "state.json"), load_observation(case / "observed.json"),
                      PlanOptions(targets=tuple(options.get("targets", ())), destroy=options.get("destroy", False)),
                      created_at="2026-01-01T00:00:00+00:00")
    except Exception as exc:  # the same refusal either way (golden error cases)
        return f"{type(exc).__name__}: {exc}"
    body = result.to_json()
    for volatile in ("created_at", "digest", "config_digest", "source"):
        body.pop(volatile, None)
    return json.dumps(body, sort_keys=True, default=str)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_an_example_converted_to_python_builds_the_same_model_in_every_environment(example: Path, tmp_path: Path) -> None:
    copy = converted_copy(example, tmp_path)
    environments = sorted(p.stem for p in (example / "environments").glob("*.yml"))
    assert environments
    for env in environments:
        assert desired_model(copy, env) == desired_model(example, env), env


def desired_model(config: Path, env: str) -> dict[str, Any]:
    """The desired resources (where they were written left out), with a value for every secret named."""
    names = {n for f in config.rglob("*.y*ml") for n in re.findall(r"IAC_SECRET_\w+", f.read_text(encoding="utf-8"))}
    desired = build_desired(load_config(config, env), {name: "a-secret-value" for name in names})
    return {address: dataclasses.replace(r, source=SourceRef("")) for address, r in desired.resources.items()}


# -- the property: variations of the corpus ---------------------------------------------------
def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


@st.composite
def variations(draw: st.DrawFn) -> dict[str, Any]:
    data = read(draw(st.sampled_from(CORPUS)).read_text(encoding="utf-8"))
    for section, items in list(data.items()):
        if isinstance(items, list) and items:
            keep = draw(st.lists(st.sampled_from(range(len(items))), unique=True))
            data[section] = [items[i] for i in sorted(keep)]
    leaves = [p for p in _leaves(data) if p and p[-1] not in ("type", "key") and not isinstance(p[-1], int)]
    if leaves:
        for index, path in enumerate(draw(st.lists(st.sampled_from(leaves), unique=True, max_size=5))):
            _set(data, path, f"${{v{index}}}")
    return data


@settings(max_examples=60)
@given(variations())
def test_any_variation_of_a_corpus_file_converts_to_python_and_back(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "projects").mkdir()
        (root / "projects" / "p.py").write_text(to_python(data, "p.yml"), encoding="utf-8")
        loaded = load_python_project(root, "projects/p.py")
        assert loaded.diagnostics == [] and loaded.data == data


def test_a_key_no_class_has_is_an_error_naming_it() -> None:
    with pytest.raises(ConvertError, match="unknown key 'formt'"):
        project_from_data({"project": {"key": "A", "name": "A"}, "datasets": [{"name": "d", "type": "managed", "formt": 1}]})


PYTHON_EXAMPLES = sorted(f for d in EXAMPLES for f in (d / "projects").glob("[!_]*.py"))


def test_some_example_is_written_in_python() -> None:
    assert PYTHON_EXAMPLES


@pytest.mark.parametrize("py", PYTHON_EXAMPLES, ids=_id)
def test_a_python_example_converted_to_yaml_builds_the_same_model_in_every_environment(py: Path, tmp_path: Path) -> None:
    example = py.parents[1]
    copy = tmp_path / "yaml"
    shutil.copytree(example, copy)
    rel = py.relative_to(example).as_posix()
    text, suffix = convert_file(copy, rel)
    (copy / rel).unlink()
    (copy / rel).with_suffix(suffix).write_text(text, encoding="utf-8")
    for env in sorted(p.stem for p in (example / "environments").glob("*.yml")):
        assert desired_model(copy, env) == desired_model(example, env), env
