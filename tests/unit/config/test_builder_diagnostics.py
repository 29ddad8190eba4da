"""The builder's own diagnostics (what the schema cannot see: references, writers, schedules,
secrets), each at its file, line and path with its hint, and all of them in one run.
No DSS: `check_config` on a small tree (the loader's diagnostics are tested elsewhere)."""

from __future__ import annotations

import textwrap

import pytest
from cfg_helpers import Tree
from dataiku_iac.builder import check_config
from dataiku_iac.errors import ConfigError, Diagnostic

HEAD = """\
project: {key: P, name: p}
datasets:
  - {name: raw, type: managed, format: csv}
  - {name: clean, type: managed, format: csv}
managed_folders:
  - {name: models}
"""  # 6 lines: the cases below start at line 7


def problems(tree: Tree, body: str, *, head: str = HEAD) -> list[Diagnostic]:
    tree.write({"projects/p.yml": head + textwrap.dedent(body)})
    with pytest.raises(ConfigError) as info:
        check_config(tree.root, "dev", secrets={})
    return info.value.diagnostics


CASES = {
    "an output that is also an input": (
        """\
        recipes:
          - {name: r, type: sync, inputs: [raw], outputs: [raw]}
        """,
        8, "recipes[0].outputs", "recipe 'r' writes 'raw', which is also its input", None),
    "two writers of one dataset": (
        """\
        recipes:
          - {name: r1, type: sync, inputs: [raw], outputs: [clean]}
          - {name: r2, type: sync, inputs: [raw], outputs: [clean]}
        """,
        9, "recipes[1].outputs", "'clean' is already the output of recipe #1; a dataset has one writer", None),
    "a recipe input that names nothing": (
        """\
        recipes:
          - {name: r, type: sync, inputs: [claen], outputs: [raw]}
        """,
        8, "recipes[0].inputs[0]", "recipe input 'claen' is not a dataset or managed folder of project P", "did you mean 'clean'?"),
    "a recipe output that names nothing": (
        """\
        recipes:
          - name: r
            type: sync
            inputs: {main: [raw]}
            outputs: {main: [modles]}
        """,
        11, "recipes[0].outputs.main[0]", "recipe output 'modles' is not a dataset or managed folder of project P", "did you mean 'models'?"),
    "a build step naming an unknown dataset": (
        """\
        scenarios:
          - id: S
            name: s
            steps: [{type: build, datasets: [raws]}]
        """,
        10, "scenarios[0].steps[0].datasets[0]", "build step names an unknown dataset 'raws' in project P", "did you mean 'raw'?"),
    "a trigger naming an unknown folder": (
        """\
        scenarios:
          - id: S
            name: s
            triggers: [{type: dataset_change, folders: [model]}]
        """,
        10, "scenarios[0].triggers[0].folders[0]", "trigger names an unknown managed folder 'model' in project P", "did you mean 'models'?"),
    "a run_scenario step naming an unknown scenario": (
        """\
        scenarios:
          - {id: NIGHTLY, name: n}
          - id: S
            name: s
            steps: [{type: run_scenario, scenario: NIGHTLX}]
        """,
        11, "scenarios[1].steps[0].scenario", "run_scenario step names an unknown scenario 'NIGHTLX' in project P", "did you mean 'NIGHTLY'?"),
    "a cron DSS cannot express": (
        """\
        scenarios:
          - id: S
            name: s
            triggers: [{type: temporal, cron: '*/5 * * * *'}]
        """,
        10, "scenarios[0].triggers[0].cron", "unsupported cron expression '*/5 * * * *': the minute must be a number", "supported forms:"),
    "a starting date that does not exist": (
        """\
        scenarios:
          - id: S
            name: s
            triggers: [{type: temporal, frequency: Daily, starting_from: '2023-02-29'}]
        """,
        10, "scenarios[0].triggers[0].starting_from", "'2023-02-29' is not a date", None),
    "a recipe code env declared twice": (
        """\
        recipes:
          - name: r
            type: python
            code: "pass"
            inputs: [raw]
            outputs: [clean]
            code_env: py39
            params: {envSelection: {envMode: INHERIT}}
        """,
        14, "recipes[0].params.envSelection", "params.envSelection declares again what 'code_env' declares", "remove params.envSelection"),
    "a secret whose variable is not set": (
        None,
        1, "project.variables.local.token.secret_env", "secret variable 'token' reads", None),
}


SECRET = HEAD.replace("project: {key: P, name: p}",
                      "project: {key: P, name: p, variables: {local: {token: {secret_env: IAC_SECRET_TOKEN}}}}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_problem_at_its_line_and_path_with_its_hint(tree: Tree, name: str) -> None:
    body, line, path, message, hint = CASES[name]
    found = problems(tree, body) if body is not None else problems(tree, "", head=SECRET)
    if name == "an output that is also an input":  # which is also a loop of the Flow, said at the recipe
        assert [d.message for d in found if d.path == "recipes[0]"] == ["the Flow has a cycle: raw -> raw"]
        found = [d for d in found if d.path != "recipes[0]"]
    assert len(found) == 1, [d.render() for d in found]
    [diagnostic] = found
    assert (diagnostic.file, diagnostic.line, diagnostic.path) == ("projects/p.yml", line, path), diagnostic.render()
    assert message in diagnostic.message and diagnostic.severity == "error"
    assert (hint is None and diagnostic.hint is None) or (hint is not None and hint in (diagnostic.hint or "")), diagnostic.render()


def test_a_secret_that_is_set_is_no_problem(tree: Tree) -> None:
    tree.write({"projects/p.yml": SECRET})
    _cfg, desired = check_config(tree.root, "dev", secrets={"IAC_SECRET_TOKEN": "s3cret"})
    assert desired.get("project.P").secrets == {"variables.local.token": "s3cret"}


def test_every_problem_of_every_file_in_one_run_sorted_by_file_and_line(tree: Tree) -> None:
    tree.write({"projects/q.yml": HEAD.replace("key: P", "key: Q") + textwrap.dedent(CASES["a cron DSS cannot express"][0])})
    found = problems(tree, """\
        recipes:
          - {name: r1, type: sync, inputs: [raw], outputs: [clean]}
          - {name: r2, type: sync, inputs: [claen], outputs: [clean]}
        scenarios:
          - id: S
            name: s
            triggers: [{type: dataset_change, folders: [model]}, {type: temporal, cron: '0 3 * * MONKEY'}]
            steps: [{type: build, datasets: [raws]}, {type: run_scenario, scenario: NIGHTLX}]
        """, head=SECRET)
    assert [(d.file, d.line, d.path) for d in found] == [
        ("projects/p.yml", 1, "project.variables.local.token.secret_env"),
        ("projects/p.yml", 9, "recipes[1].inputs[0]"),
        ("projects/p.yml", 9, "recipes[1].outputs"),
        ("projects/p.yml", 13, "scenarios[0].triggers[0].folders[0]"),
        ("projects/p.yml", 13, "scenarios[0].triggers[1].cron"),
        ("projects/p.yml", 14, "scenarios[0].steps[0].datasets[0]"),
        ("projects/p.yml", 14, "scenarios[0].steps[1].scenario"),
        ("projects/q.yml", 10, "scenarios[0].triggers[0].cron"),
    ], [d.render() for d in found]


def test_a_dataset_setting_declared_twice_is_refused_at_its_params_key(tree: Tree) -> None:
    """`path: /a` with `params: {path: /b}` would flip at every apply: refused at the params key."""
    head = HEAD.replace("  - {name: clean, type: managed, format: csv}\n",
                        "  - {name: clean, type: managed, format: csv}\n"
                        "  - {name: files, type: filesystem, connection: fs, path: /a, params: {path: /b}}\n")
    [found] = problems(tree, "", head=head)
    assert (found.line, found.path) == (5, "datasets[2].params.path"), found.render()
    assert "params.path declares again what 'path' declares" in found.message
    assert found.hint == "remove params.path (keep path)"
