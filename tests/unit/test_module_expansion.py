"""Modules, offline (docs/modules.md): module.yml read and checked (modules/definition.py), each call
expanded into the project's own resources (modules/expand.py) with module addresses, references to
the instance's own objects, outputs, for_each; every problem reported in one run, at the call site
and in the module's files; `moved:` entries checked; the digest and the config cache follow the
module's files."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Optional

import pytest
from dataiku_iac.builder import check_config
from dataiku_iac.config.cache import CACHE_ENV, ConfigCache
from dataiku_iac.config.loader import load_config
from dataiku_iac.errors import ConfigError, Diagnostic
from dataiku_iac.model import DesiredState
from dataiku_iac.modules.definition import condition_problem, evaluate

MODULE_YML = """\
module: ingest
version: 1.0.0
inputs:
  table: {type: string, pattern: "^[A-Z0-9_]+$", description: the source table}
  rows: {type: integer, minimum: 0, default: 10}
  max_rows: {type: integer, default: 100}
  token: {type: string, sensitive: true, default: null}
validations:
  - condition: inputs.rows <= inputs.max_rows
    error_message: rows cannot exceed max_rows
outputs:
  clean: ${module.prefix}clean
  described: {value: "clean copy of ${inputs.table}", description: a sentence}
resources: [resources.yml]
"""

RESOURCES_YML = """\
datasets:
  - name: raw
    type: managed
    description: raw ${inputs.table} (${module.name})
  - name: clean
    type: managed
recipes:
  - name: sync
    type: sync
    inputs: [raw]
    outputs: [clean]
scenarios:
  - id: build
    name: build ${module.name}
    steps:
      - type: build
        datasets: [clean]
"""

CALLS = """\
project:
  key: DEMO
  name: Demo
modules:
  - name: orders
    source: ../modules/ingest
    inputs: {table: ORDERS}
  - name: region
    source: ../modules/ingest
    name_prefix: r_
    for_each: {eu: {table: EU}, us: {table: US, rows: 3}}
datasets:
  - name: report
    type: managed
    description: ${module.orders.described}
recipes:
  - name: publish
    type: sync
    inputs: ["${module.orders.clean}"]
    outputs: [report]
"""


def tree(tmp_path: Path, project: str, files: Optional[dict[str, str]] = None) -> Path:
    written = {"iac.yml": "state: {backend: local}\n", "environments/dev.yml": "variables: {}\n",
               "projects/demo.yml": project, "modules/ingest/module.yml": MODULE_YML,
               "modules/ingest/resources.yml": RESOURCES_YML, **(files or {})}
    for rel, text in written.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def desired(root: Path) -> DesiredState:
    return check_config(root, "dev")[1]


def problems(root: Path) -> list[Diagnostic]:
    with pytest.raises(ConfigError) as info:
        check_config(root, "dev")
    return info.value.diagnostics


def rendered(root: Path) -> list[str]:
    return [d.render() for d in problems(root)]


def test_a_call_becomes_resources_of_the_project_with_module_addresses(tmp_path: Path) -> None:
    model = desired(tree(tmp_path, CALLS))
    raw = model.resources["module.orders.dataset.DEMO.orders_raw"]
    assert (raw.name, raw.attributes["description"]) == ("orders_raw", "raw ORDERS (orders)")
    assert (raw.source.file, raw.source.line) == ("modules/ingest/resources.yml", 2)
    sync = model.resources["module.orders.recipe.DEMO.orders_sync"]
    assert sync.attributes["inputs"] == {"main": ["orders_raw"]} and sync.attributes["outputs"] == {"main": ["orders_clean"]}
    assert "module.orders.dataset.DEMO.orders_raw" in sync.depends_on
    build = model.resources["module.orders.scenario.DEMO.orders_build"]
    assert build.attributes["steps"][0]["datasets"] == ["orders_clean"]
    assert "module.orders.dataset.DEMO.orders_clean" in build.depends_on
    # outputs, in a longer string and as a whole value naming an object of the module
    assert model.resources["dataset.DEMO.report"].attributes["description"] == "clean copy of ORDERS"
    publish = model.resources["recipe.DEMO.publish"]
    assert publish.attributes["inputs"] == {"main": ["orders_clean"]}
    assert "module.orders.dataset.DEMO.orders_clean" in publish.depends_on


def test_for_each_makes_one_instance_per_key_with_its_own_prefix(tmp_path: Path) -> None:
    model = desired(tree(tmp_path, CALLS))
    assert model.resources["module.region[eu].dataset.DEMO.r_eu_raw"].attributes["description"] == "raw EU (region[eu])"
    assert model.resources["module.region[us].recipe.DEMO.r_us_sync"].attributes["inputs"] == {"main": ["r_us_raw"]}
    assert len([a for a in model.resources if a.startswith("module.")]) == 3 * 4


def test_the_digest_covers_the_module_files(tmp_path: Path) -> None:
    root = tree(tmp_path, CALLS)
    before = load_config(root, "dev").digest
    (root / "modules/ingest/resources.yml").write_text(RESOURCES_YML.replace("raw ${inputs.table}", "copy of ${inputs.table}"))
    assert load_config(root, "dev").digest != before
    (root / "modules/ingest/resources.yml").write_text(RESOURCES_YML)
    assert load_config(root, "dev").digest == before
    (root / "modules/ingest/README.md").write_text("notes")  # a file outside module.yml's list still counts
    assert load_config(root, "dev").digest != before


def test_the_config_cache_never_hides_a_module_change(tmp_path: Path) -> None:
    root = tree(tmp_path / "cfg", CALLS)
    cache = ConfigCache.from_environment({CACHE_ENV: str(tmp_path / "cache")})
    assert cache is not None
    first = check_config(root, "dev", cache=cache)[1]
    assert first.resources["module.orders.dataset.DEMO.orders_raw"].attributes["description"] == "raw ORDERS (orders)"
    (root / "modules/ingest/resources.yml").write_text(RESOURCES_YML.replace("    type: managed\n", "    type: managed\n    colour: blue\n", 1))
    with pytest.raises(ConfigError) as info:
        check_config(root, "dev", cache=cache)
    assert any("unknown key 'colour'" in d.message and d.file == "modules/ingest/resources.yml" for d in info.value.diagnostics)


def test_input_problems_are_reported_at_the_call_with_the_module_line(tmp_path: Path) -> None:
    project = """\
    project: {key: DEMO, name: Demo}
    modules:
      - name: a
        source: ../modules/ingest
        inputs: {table: lower, extra: 1, token: hunter2-secret}
      - name: b
        source: ../modules/ingest
        inputs: {rows: -1}
      - name: c
        source: ../modules/ingest
        inputs: {table: C, rows: 50, max_rows: 5}
    """
    root = tree(tmp_path, project, {"modules/ingest/module.yml": MODULE_YML.replace(
        "token: {type: string, sensitive: true, default: null}",
        'token: {type: string, sensitive: true, default: null, pattern: "^[0-9]+$"}')})
    found = rendered(root)
    assert any(m.startswith("projects/demo.yml:5:") and "input 'table' of module ingest must match the pattern" in m
               and "modules/ingest/module.yml:4" in m for m in found), found
    assert any(m.startswith("projects/demo.yml:5:") and "has no input 'extra'" in m for m in found), found
    assert any("input 'token'" in m and "sensitive" in m for m in found), found
    assert not any("hunter2" in m for m in found), "a sensitive input's value was shown"
    assert any(m.startswith("projects/demo.yml:8:") and "misses the required input 'table'" in m for m in found), found
    assert any("input 'rows' of module ingest must be at least 0 (got -1)" in m for m in found), found
    assert any(m.startswith("projects/demo.yml:11:") and "rows cannot exceed max_rows" in m
               and "modules/ingest/module.yml:9" in m for m in found), found


def test_problems_in_the_module_files_name_the_module_file_and_the_call(tmp_path: Path) -> None:
    resources = RESOURCES_YML.replace("    outputs: [clean]\n", "    outputs: [clean]\n    colour: blue\n") + \
        "  - id: other\n    name: ${inputs.tabel}\n"
    root = tree(tmp_path, CALLS, {"modules/ingest/resources.yml": resources})
    found = rendered(root)
    assert any(m.startswith("modules/ingest/resources.yml:12:") and "unknown key 'colour'" in m
               and "in module.orders, called at projects/demo.yml:5" in m for m in found), found
    assert any(m.startswith("modules/ingest/resources.yml:") and "'${inputs.tabel}'" in m and "did you mean 'table'" in m
               for m in found), found
    assert sum("'${inputs.tabel}'" in m for m in found) == 1, "a module's own mistake is reported once, not per call"


def test_a_name_clash_between_the_project_and_a_module_names_both_places(tmp_path: Path) -> None:
    project = CALLS + "  - name: orders_raw\n    type: sync\n    inputs: [report]\n    outputs: [orders_raw]\n"
    project = project.replace("datasets:\n", "datasets:\n  - name: orders_raw\n    type: managed\n")
    found = rendered(tree(tmp_path, project))
    clash = [m for m in found if "duplicate dataset name 'orders_raw'" in m]
    assert clash and "projects/demo.yml:" in clash[0] and clash[0].startswith("modules/ingest/resources.yml:2:"), found
    assert "name_prefix" in clash[0]


def test_module_definition_problems(tmp_path: Path) -> None:
    bad = """\
    module: ingest
    inputs:
      table: {type: text}
      rows: {type: integer, default: many}
    validations:
      - condition: __import__('os').system('x')
        error_message: never
    resources: [resources.yml, missing.yml]
    surprise: 1
    """
    found = rendered(tree(tmp_path, CALLS, {"modules/ingest/module.yml": bad}))
    assert any(m.startswith("modules/ingest/module.yml:9") and "surprise" in m for m in found), found
    assert any(m.startswith("modules/ingest/module.yml:3") and "table.type" in m for m in found), found
    assert any("module '../modules/ingest' cannot be used" in m and m.startswith("projects/demo.yml:") for m in found), found


def test_a_resource_file_holds_resource_sections_only(tmp_path: Path) -> None:
    found = rendered(tree(tmp_path, CALLS, {"modules/ingest/resources.yml": "project: {key: X, name: X}\n" + RESOURCES_YML}))
    assert any(m.startswith("modules/ingest/resources.yml:1:") and "'project' cannot be declared in a module" in m
               for m in found), found


def test_unknown_outputs_and_calls(tmp_path: Path) -> None:
    project = CALLS.replace("${module.orders.described}", "${module.orders.nope} ${module.ghost.clean}")
    found = rendered(tree(tmp_path, project))
    assert any("module call 'orders' has no output 'nope'" in m for m in found), found
    assert any("no module call 'ghost'" in m for m in found), found


def test_duplicate_and_unresolvable_calls(tmp_path: Path) -> None:
    project = CALLS.replace("  - name: region", "  - name: orders\n    source: ../modules/ingest\n  - name: gone\n"
                            "    source: ../modules/absent\n  - name: region")
    found = rendered(tree(tmp_path, project))
    assert any("duplicate module call name 'orders'" in m for m in found), found
    assert any(m.startswith("projects/demo.yml:") and "modules/absent" in m for m in found), found


def test_moved_entries_are_checked(tmp_path: Path) -> None:
    project = CALLS + """\
moved:
  - {from: dataset.DEMO.orders_raw, to: module.orders.dataset.DEMO.orders_raw}
  - {from: dataset.DEMO.orders_new, to: module.orders.dataset.DEMO.orders_new}
  - {from: dataset.DEMO.report, to: module.orders.dataset.DEMO.report}
  - {from: dataset.DEMO.raw, to: module.orders.dataset.DEMO.orders_raw}
  - {from: dataset.OTHER.x, to: module.orders.dataset.DEMO.orders_raw}
  - {from: dataset.DEMO.orders_raw, to: module.orders.dataset.DEMO.orders_raw}
"""
    found = rendered(tree(tmp_path, project))
    assert any(":23:" in m and "module.orders.dataset.DEMO.orders_new: the configuration declares no such object" in m
               for m in found), found
    assert any("dataset.DEMO.report is still declared" in m for m in found), found
    assert any("a dataset's name is its identity in DSS" in m for m in found), found
    assert any("dataset.OTHER.x is not in this file's project DEMO" in m for m in found), found
    assert any("dataset.DEMO.orders_raw is moved twice" in m for m in found), found


def test_a_valid_moved_entry_reaches_the_model(tmp_path: Path) -> None:
    project = CALLS + "moved:\n  - {from: dataset.DEMO.orders_raw, to: module.orders.dataset.DEMO.orders_raw}\n"
    assert desired(tree(tmp_path, project)).moves == [("dataset.DEMO.orders_raw", "module.orders.dataset.DEMO.orders_raw")]


def test_an_override_reaches_a_module_resource_by_its_module_address_only(tmp_path: Path) -> None:
    env = "overrides:\n  module.orders.dataset.DEMO.orders_clean: {description: dev copy}\n"
    model = desired(tree(tmp_path, CALLS, {"environments/dev.yml": env}))
    assert model.resources["module.orders.dataset.DEMO.orders_clean"].attributes["description"] == "dev copy"
    flat = "overrides:\n  dataset.DEMO.orders_clean: {description: dev copy}\n"
    found = rendered(tree(tmp_path, CALLS, {"environments/dev.yml": flat}))
    assert any("override of an unknown address 'dataset.DEMO.orders_clean'" in m
               and "module.orders.dataset.DEMO.orders_clean" in m for m in found), found


def test_conditions_are_a_small_safe_language() -> None:
    inputs = {"rows", "max_rows", "mode"}
    assert condition_problem("inputs.rows <= inputs.max_rows and inputs.mode in ['a', 'b']", inputs) is None
    assert condition_problem("len(inputs.mode) > 0 or inputs.mode == null", inputs) is None
    assert "only inputs.NAME" in (condition_problem("os.system", inputs) or "")
    assert "unknown input 'rowz'" in (condition_problem("inputs.rowz > 1", inputs) or "")
    assert condition_problem("__import__('os')", inputs) is not None
    assert condition_problem("inputs.mode.upper()", inputs) is not None
    assert condition_problem("[x for x in inputs.mode]", inputs) is not None
    assert evaluate("inputs.rows <= inputs.max_rows", {"rows": 1, "max_rows": 2}) is True
    assert evaluate("not (inputs.rows < 0) and inputs.mode != null", {"rows": 1, "mode": None}) is False


def test_inputs_take_the_environments_variables_and_module_files_do_not(tmp_path: Path) -> None:
    project = CALLS.replace("inputs: {table: ORDERS}", "inputs: {table: \"${TABLE}\"}")
    resources = RESOURCES_YML.replace("    type: managed\n", "    type: managed\n    tags: [\"${TABLE}\"]\n", 1)
    root = tree(tmp_path, project, {"environments/dev.yml": "variables: {TABLE: FROM_ENV}\n",
                                    "modules/ingest/resources.yml": resources})
    raw = desired(root).resources["module.orders.dataset.DEMO.orders_raw"]
    assert raw.attributes["description"] == "raw FROM_ENV (orders)"
    assert raw.attributes["tags"] == ["${TABLE}"]  # a module sees its inputs only: left for DSS


def test_outputs_of_for_each_instances_are_read_per_key(tmp_path: Path) -> None:
    project = CALLS.replace("${module.orders.described}", "${module.region[eu].described} ${module.region[us].nope} ${module.region.clean}")
    found = rendered(tree(tmp_path, project))
    assert any("module call 'region[us]' has no output 'nope'" in m for m in found), found
    assert any("${module.region.clean}" in m and "read per key: ${module.region[eu].clean}" in m for m in found), found
    fixed = CALLS.replace("${module.orders.described}", "${module.region[eu].described}")
    assert desired(tree(tmp_path, fixed)).resources["dataset.DEMO.report"].attributes["description"] == "clean copy of EU"


def test_a_module_requiring_another_dataiku_iac_is_refused(tmp_path: Path) -> None:
    found = rendered(tree(tmp_path, CALLS, {"modules/ingest/module.yml": MODULE_YML.replace(
        "version: 1.0.0\n", "version: 1.0.0\nrequires: {dataiku_iac: \">= 99.0\", dss: \">= 13.0\"}\n")}))
    assert any(m.startswith("modules/ingest/module.yml:3") and "requires dataiku-iac >= 99.0" in m for m in found), found
    bad = rendered(tree(tmp_path, CALLS, {"modules/ingest/module.yml": MODULE_YML.replace(
        "version: 1.0.0\n", "version: 1.0.0\nrequires: {dataiku_iac: \"about two\"}\n")}))
    assert any("invalid version constraint" in m for m in bad), bad
    assert desired(tree(tmp_path, CALLS, {"modules/ingest/module.yml": MODULE_YML.replace(
        "version: 1.0.0\n", "version: 1.0.0\nrequires: {dataiku_iac: \">= 0.1\"}\n")})).resources
