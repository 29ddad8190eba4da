"""Regression cases for the bad-input corpus findings of issue 10 (Lifecycle 6) and for
"validation in one run" (Lifecycle 3).

Each finding is a case the validator let through or crashed on: cron fields with non-ASCII
digits or day names that merely start like one, cron's day 7, chains of 1,000+ datasets,
300-character environment names, a scenario running itself, impossible dates, effective
project keys over the limit, control characters echoed raw, and errors an environment's
override causes reported in the project file. (The file-based cases live in
tests/fixtures/malformed and run through the CLI in tests/e2e/test_malformed.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cfg_helpers import Tree
from dataiku_iac.builder import MAX_PROJECT_KEY_LENGTH, check_config, find_cycle
from dataiku_iac.config import load_config
from dataiku_iac.config.schedule import ScheduleError, check_datetime, parse_cron
from dataiku_iac.engine.executor import dependency_graph
from dataiku_iac.errors import ConfigError, Diagnostic, ErrorReport, printable
from dataiku_iac.output.text import Style
from dataiku_iac.planner.observed import Observation, ProjectObservation
from dataiku_iac.planner.plan import PlanOptions
from dataiku_iac.planner.planner import plan as compute_plan
from dataiku_iac.state import StateDocument

EVERY_DAY = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def errors_of(root: Path, environment: str = "dev") -> list[Diagnostic]:
    with pytest.raises(ConfigError) as info:
        check_config(root, environment, secrets={})
    return info.value.diagnostics


# -- cron ------------------------------------------------------------------------------------
@pytest.mark.parametrize("expression, days", [
    ("0 3 * * 0-7", EVERY_DAY),  # a range over 0-7 is every day, not "Sunday only"
    ("0 3 * * 7", ["Sunday"]),  # 7 is Sunday, as 0 is
    ("0 3 * * 0,7", ["Sunday"]),
    ("0 3 * * 5-7", ["Sunday", "Friday", "Saturday"]),
    ("0 3 * * SAT-SUN", ["Sunday", "Saturday"]),  # SUN closing a range is 7
    ("0 3 * * SUN-SAT", EVERY_DAY),
    ("0 3 * * MON-SUN", EVERY_DAY),
    ("0 3 * * 1-5", ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
    ("0 3 * * mon,Wed", ["Monday", "Wednesday"]),
    ("05 03 * * 6", ["Saturday"]),
])
def test_weekly_cron_days(expression, days):
    parsed = parse_cron(expression)
    assert parsed["frequency"] == "Weekly" and parsed["days"] == days


def test_hourly_and_daily_cron():
    assert parse_cron("15 * * * *") == {"frequency": "Hourly", "minute": 15, "hour": 0}
    assert parse_cron(" 0  23 * * * ") == {"frequency": "Daily", "hour": 23, "minute": 0}


@pytest.mark.parametrize("expression, reason", [
    ("² 3 * * *", "the minute must be a number from 0 to 59 (got '²')"),  # crashed: int('²')
    ("0 ٣ * * *", "the hour must be a number from 0 to 23 (got '٣')"),  # was read as 3
    ("\u0660 3 * * *", "the minute must be a number"),
    ("0 3 * * \u0661", "is not a day of the week"),
    ("0 3 * * MONKEY", "'MONKEY' is not a day of the week"),  # was read as Monday
    ("0 3 * * MONDAY", "'MONDAY' is not a day of the week"),
    ("0 3 * * 8", "'8' is not a day of the week"),
    ("0 3 * * 0-8", "'8' is not a day of the week"),
    ("0 3 * * FRI-MON", "runs backwards"),
    ("0 3 * * 1,,2", "'' is not a day of the week"),
    ("0 3 * * 1-", "'' is not a day of the week"),
    ("60 3 * * *", "the minute must be a number from 0 to 59"),
    ("0 24 * * *", "the hour must be a number from 0 to 23"),
    ("*/5 * * * *", "the minute must be a number"),
    ("0 */2 * * *", "the hour must be a number"),
    ("0 3,4 * * *", "the hour must be a number"),
    ("0 3 1 * *", "day-of-month and month fields must be '*'"),
    ("0 * * * 1", "cannot be limited to some days"),
    ("0 3 * *", "5 fields"),
    ("0\u20033 * * * *", "the minute must be a number"),  # an em space is not a field separator
])
def test_unsupported_cron_is_refused_with_the_reason(expression, reason):
    with pytest.raises(ScheduleError) as info:
        parse_cron(expression)
    assert reason in str(info.value)


# -- dates -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["2024-02-29", "2024-12-31T23:59", "2024-01-01 00:00:59", "2024-06-01T08:00:00.5Z",
                                  "2024-06-01T08:00+14:00", "2024-06-01T08:00-0530"])
def test_real_dates_pass(text):
    assert check_datetime(text) is None


@pytest.mark.parametrize("text, reason", [
    ("2024-13-45", "'2024-13-45' is not a date"),
    ("2023-02-29", "'2023-02-29' is not a date"),
    ("2024-00-10", "is not a date"),
    ("2024-01-01T24:00", "is not a time of day"),
    ("2024-01-01T12:60", "is not a time of day"),
    ("2024-01-01T12:00:61", "is not a time of day"),
    ("2024-01-01T12:00+15:00", "time zone offset"),
    ("01/02/2024", "expected a date"),
])
def test_impossible_dates_are_refused(text, reason):
    assert reason in check_datetime(text)


# -- long chains: no recursion -------------------------------------------------------------------
def chain_project(length: int, *, cyclic: bool = False) -> str:
    lines = ["project:\n  key: CHAIN\n  name: chain\ndatasets:\n"]
    lines += [f"  - {{name: d{i}, type: managed}}\n" for i in range(length)]
    lines.append("recipes:\n")
    lines += [f"  - {{name: r{i}, type: sync, inputs: [d{i}], outputs: [d{i + 1}]}}\n" for i in range(length - 1)]
    if cyclic:
        lines.append(f"  - {{name: back, type: sync, inputs: [d{length - 1}], outputs: [d0]}}\n")
    lines.append("scenarios:\n")
    lines += [f"  - {{id: S{i}, name: s{i}, steps: [{{type: run_scenario, scenario: S{i + 1}}}]}}\n" for i in range(length - 1)]
    lines.append(f"  - {{id: S{length - 1}, name: last, steps: [{{type: build, datasets: [d{length - 1}]}}]}}\n")
    return "".join(lines)


def test_a_flow_of_thousands_of_chained_datasets_builds_and_plans(tree: Tree):
    length = 3000  # well past Python's default recursion limit of 1,000
    tree.write({"projects/chain.yml": chain_project(length)})
    _, desired = check_config(tree.root, "dev", secrets={})
    assert len(desired.resources) == 1 + length + (length - 1) + length
    state = StateDocument.new("dev")
    observation = Observation(projects={"CHAIN": ProjectObservation("CHAIN", False, None, {})})
    # --target walks the dependencies: the last scenario depends on the one before, 3,000 deep
    planned = compute_plan(desired, state, observation, PlanOptions(targets=("scenario.CHAIN.S0",)))
    assert len([c for c in planned.changes if c.action.value == "create"]) == 1 + length + 1  # + the last dataset
    waits = dependency_graph(list(planned.changes))
    assert waits["scenario.CHAIN.S0"] == {"project.CHAIN", "scenario.CHAIN.S1"}
    whole = compute_plan(desired, state, observation)
    assert len(whole.changes) == len(desired.resources)


def test_a_cyclic_flow_of_thousands_of_datasets_is_one_clear_error(tree: Tree):
    tree.write({"projects/chain.yml": chain_project(2000, cyclic=True)})
    errors = errors_of(tree.root)
    assert len(errors) == 1, [e.render() for e in errors]
    assert "the Flow has a cycle: d0 -> d1 -> " in errors[0].message and errors[0].message.endswith("d1999 -> d0")


def test_find_cycle_is_iterative_and_deterministic():
    chain = {i: {i + 1} for i in range(50_000)}
    assert find_cycle(chain) is None
    chain[50_000] = {25_000}
    cycle = find_cycle(chain)
    assert cycle is not None and cycle[0] == 25_000 and cycle[-1] == 50_000 and len(cycle) == 25_001
    assert find_cycle({"a": {"a"}}) == ["a"]
    assert find_cycle({"b": {"c"}, "c": {"b"}, "a": {"b"}}) == ["b", "c"]


# -- environment names ------------------------------------------------------------------------------
@pytest.mark.parametrize("projects", [True, False])
def test_a_300_character_environment_name_is_a_clear_error(tree: Tree, projects: bool):
    tree.write({"projects/p.yml": "project: {key: P, name: p}\n"})
    with pytest.raises(ConfigError) as info:  # was: OSError "File name too long"
        load_config(tree.root, "e" * 300, projects=projects)
    [error] = info.value.diagnostics
    assert error.file == "environments/" and "is 300 characters long; the limit is 64" in error.message


def test_an_environment_name_of_64_characters_is_fine(tree: Tree):
    name = "e" * 64
    tree.write({"projects/p.yml": "project: {key: P, name: p}\n", f"environments/{name}.yml": ""})
    assert load_config(tree.root, name).environment.name == name


# -- effective project keys -------------------------------------------------------------------------
@pytest.mark.parametrize("key_length, too_long", [(MAX_PROJECT_KEY_LENGTH - 4, False), (MAX_PROJECT_KEY_LENGTH - 3, True)])
def test_a_prefix_may_not_push_a_project_key_past_the_limit(tree: Tree, key_length: int, too_long: bool):
    key = "K" * key_length
    tree.write({"projects/p.yml": f"project: {{key: {key}, name: p}}\n"}, env="project_key:\n  prefix: DEV_\n")
    if not too_long:
        _, desired = check_config(tree.root, "dev", secrets={})
        assert desired.project_keys() == {key: "DEV_" + key}
        return
    [error] = errors_of(tree.root)
    assert (error.file, error.line, error.path) == ("environments/dev.yml", 2, "project_key.prefix")
    assert f"the effective key of project {key} (projects/p.yml:1) would be 'DEV_{key}'" in error.message
    assert f"{MAX_PROJECT_KEY_LENGTH + 1} characters, more than the {MAX_PROJECT_KEY_LENGTH}" in error.message


# -- scenarios running themselves -------------------------------------------------------------------
def test_scenarios_that_run_each_other_in_a_loop_are_refused(tree: Tree):
    tree.write({"projects/p.yml": """\
        project: {key: P, name: p}
        scenarios:
          - {id: A, name: a, steps: [{type: run_scenario, scenario: B}]}
          - {id: B, name: b, steps: [{type: run_scenario, scenario: C}]}
          - {id: C, name: c, steps: [{type: run_scenario, scenario: A}]}
        """})
    [error] = errors_of(tree.root)  # one error, not also a "dependency cycle" for the same loop
    assert (error.line, error.path) == (3, "scenarios[0].steps[0].scenario")
    assert "scenarios run each other in a loop: scenario.P.A -> scenario.P.B -> scenario.P.C -> scenario.P.A" in error.message


def test_a_scenario_may_run_another_project_scenario_of_the_same_name(tree: Tree):
    tree.write({"projects/p.yml": """\
        project: {key: P, name: p}
        scenarios:
          - {id: S, name: s, steps: [{type: run_scenario, project: Q, scenario: S}]}
        """, "projects/q.yml": "project: {key: Q, name: q}\nscenarios:\n  - {id: S, name: s}\n"})
    check_config(tree.root, "dev", secrets={})


# -- control characters ----------------------------------------------------------------------------------
CONTROL = "\x1b]0;pwned\x07\x1b[2J\x00\r\x9b31m\u202e"


def test_control_characters_are_escaped_in_diagnostics(tree: Tree):
    tree.write({"projects/p.yml": 'project: {key: P, name: p}\ndatasets:\n  - {name: "X\\e]0;pwned\\a", type: managed}\n'})
    [error] = errors_of(tree.root)
    assert "\x1b" in error.message  # the record keeps the value; rendering escapes it
    rendered = error.render()
    assert "X\\x1b]0;pwned\\x07" in rendered
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in rendered)


def test_printable_escapes_every_control_character():
    assert printable(CONTROL) == "\\x1b]0;pwned\\x07\\x1b[2J\\x00\\r\\x9b31m\\u202e"
    assert printable("a\n\tb" + CONTROL, keep_newlines=True).startswith("a\n\tb\\x1b")
    diagnostic = Diagnostic("projects/\x1bp.yml", 1, 1, "datasets[0]", "bad " + CONTROL, "hint " + CONTROL)
    assert "\x1b" not in diagnostic.render() and "\x07" not in diagnostic.render() and "\u202e" not in diagnostic.render()


def test_plan_output_escapes_control_characters_but_keeps_its_colors():
    styled = Style(color=True)("description = \"x\x1b[2J\"\x9b", "green")
    assert "\\x1b[2J" in styled and "\\x9b" in styled
    assert styled.startswith("\x1b[32m")  # the color codes the renderer adds stay real


# -- one run ---------------------------------------------------------------------------------------------
def test_no_follow_on_error_under_a_node_the_loader_reported(tree: Tree):
    tree.write({"projects/p.yml": """\
        project: {key: P, name: p}
        datasets:
          - {type: managed}
        recipes:
          - {name: r, type: sync, inputs: [UNNAMED], outputs: 3}
          - {name: r2, type: sync, inputs: {main: [A, 7]}, outputs: [ALSO]}
        scenarios:
          - {id: S, name: s, triggers: [{type: dataset_change, datasets: [WHO]}], steps: [{type: build, datasets: [WHAT]}]}
          - {name: no_id, steps: [{type: run_scenario, scenario: NOBODY}]}
          - {id: T, name: t, steps: [{type: run_scenario, scenario: NOBODY}]}
        """})
    errors = errors_of(tree.root)
    # the dataset without a name may be UNNAMED, WHO or WHAT; the scenario without an id may be NOBODY
    assert [(e.line, e.path) for e in errors] == [
        (3, "datasets[0]"), (5, "recipes[0].outputs"), (6, "recipes[1].inputs.main[1]"), (9, "scenarios[1]")]
    assert not any("unknown" in e.message or "is not a dataset" in e.message for e in errors)


def test_one_run_reports_the_schema_the_references_and_the_schedules_together(tree: Tree):
    tree.write({"projects/p.yml": """\
        project: {key: P, name: p, colour: red}
        datasets:
          - {name: A, type: managed, format: csv, formt: x}
        recipes:
          - {name: r, type: sync, inputs: [B], outputs: [A]}
        scenarios:
          - id: S
            name: s
            triggers: [{type: temporal, cron: '0 3 * * MONKEY'}, {type: periodic}]
            steps: [{type: run_scenario, scenario: S}]
        """}, env="dss: {verify_tls: maybe}\n")
    rendered = [e.render() for e in errors_of(tree.root)]
    assert rendered[0].startswith("environments/dev.yml:1:")
    wanted = ["unknown key 'colour'", "unknown key 'formt'", "recipe input 'B' is not a dataset",
              "'MONKEY' is not a day of the week", "'every_minutes' is required", "scenario 'S' runs itself"]
    for text in wanted:
        assert any(text in line for line in rendered), (text, rendered)
    assert len(rendered) == len(wanted) + 1


def test_a_failed_load_keeps_its_warnings(tree: Tree):
    tree.write({"projects/p.yml": """\
        project: {key: P, name: p, description: "uses ${UNDECLARED}"}
        datasets: [{name: A, type: nope}]
        """}, env="variables: {X: 1}\n")
    with pytest.raises(ConfigError) as info:
        check_config(tree.root, "dev", secrets={})
    assert [w.path for w in info.value.warnings] == ["project.description"]
    report = ErrorReport.from_exception(info.value).to_json()["error"]
    assert [w["severity"] for w in report["warnings"]] == ["warning"]
    assert len(report["diagnostics"]) == 1
