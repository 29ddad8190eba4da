"""The DSL's classes are generated from the project schema (scripts/gen_dsl.py): the committed
module is what the generator makes of today's schema (the CI drift guard), and the classes hold
what the schema holds."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import typing
from pathlib import Path
from types import ModuleType

import pytest
from dataiku_iac import dsl
from dataiku_iac.config.schema import load_schema
from dataiku_iac.dsl import models
from dataiku_iac.dsl.base import UNSET, Var, to_data, var
from dataiku_iac.resources.registry import specs

ROOT = Path(__file__).resolve().parents[3]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_dsl", ROOT / "scripts" / "gen_dsl.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_models_are_what_the_schema_generates() -> None:
    gen = generator()
    assert gen.generate() == gen.OUTPUT.read_text(encoding="utf-8"), "run: python scripts/gen_dsl.py"


def test_the_check_mode_fails_on_a_stale_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = generator()
    stale = tmp_path / "models.py"
    stale.write_text(gen.OUTPUT.read_text(encoding="utf-8").replace("class Project(", "class Projet("), encoding="utf-8")
    monkeypatch.setattr(gen, "OUTPUT", stale)
    assert gen.main(["--check"]) == 1
    stale.write_text(gen.generate(), encoding="utf-8")
    assert gen.main(["--check"]) == 0


def test_the_project_file_class_has_every_section_of_the_schema() -> None:
    keys = {f.metadata.get("key", f.name) for f in dataclasses.fields(models.ProjectFile)}
    assert keys == set(load_schema("project")["properties"])
    assert {spec.section for spec in specs()} <= keys


def _variant_classes(alias: object) -> list[type]:
    return [c for c in typing.get_args(alias) if isinstance(c, type) and issubclass(c, dsl.Model)]


@pytest.mark.parametrize("family, kind", [("Dataset", "dataset"), ("Recipe", "recipe"), ("Step", "step"),
                                          ("Trigger", "trigger"), ("Dimension", "partition dimension")])
def test_each_typed_kind_of_a_family_is_a_class_with_its_type_fixed(family: str, kind: str) -> None:
    defs = load_schema("project")["$defs"]
    typed = {d["x-type"] for d in defs.values() if d.get("x-kind") == kind and d.get("x-type")}
    fixed = {f.default for c in _variant_classes(getattr(models, family))
             for f in dataclasses.fields(c) if f.name == "type" and f.default is not dataclasses.MISSING}
    assert typed == fixed


def test_keys_the_family_requires_are_required_arguments() -> None:
    with pytest.raises(TypeError, match="name"):
        models.DatasetManaged()  # type: ignore[call-arg]


def test_a_model_compiles_to_the_data_a_yaml_file_holds() -> None:
    config = models.ProjectFile(
        project=models.Project(key="SALES", name="Sales", protect=var("protect_prod")),
        datasets=[models.DatasetManaged(name="orders", connection="${conn}", tags=["a"])],
        import_=[models.ImportEntry(to="dataset.SALES.orders")],
    )
    assert to_data(config) == {
        "project": {"key": "SALES", "name": "Sales", "protect": "${protect_prod}"},
        "datasets": [{"name": "orders", "type": "managed", "connection": "${conn}", "tags": ["a"]}],
        "import": [{"to": "dataset.SALES.orders"}],
    }
    assert isinstance(var("x"), Var) and not UNSET


def test_a_model_remembers_the_line_that_made_it() -> None:
    line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
    made = models.FlowZone(name="raw")
    assert made.where is not None
    assert (made.where.file, made.where.line) == (__file__, line)


def test_from_data_reads_a_yaml_snippet_into_the_classes() -> None:
    snippet = {"name": "orders", "type": "sql_table", "table": "orders", "connection": "dw",
               "partitioning": {"dimensions": [{"name": "day", "type": "time", "period": "DAY"}]}}
    made = dsl.from_data(models.DatasetSqlTable, snippet)
    assert isinstance(made.partitioning.dimensions[0], models.DimensionTime)
    assert to_data(made) == snippet
    with pytest.raises(dsl.ConvertError, match=r"unknown key 'tabel' for DatasetSqlTable \(did you mean 'table'\?\)"):
        dsl.from_data(models.DatasetSqlTable, {"name": "x", "tabel": "t"})
