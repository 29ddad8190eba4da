"""examples/day-two, as its README tells a user to run it (issue 15: an example per capability).

The README's walk-through is the script: every line of its `sh` blocks runs as written, in
order, in a copy of the example made a Git repository, against the emulator. A comment after a
command gives its exit code (`exit N`, else 0) and, in double quotes, text it prints; both are
checked. Some commands promise more than a line of output (`git diff` shows the pulled values and
nothing else, DSS really changed or did not): CHECKS holds those, keyed by the command as the
README writes it, and every key must be met, so a command dropped from the README fails here.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Callable, Optional

from tests.e2e.helpers import EXAMPLES, CliResult, state_dir
from tests.e2e.walkthrough import run_step, shell_env, walkthrough_steps

EXAMPLE = EXAMPLES / "day-two"
README = EXAMPLE / "README.md"
KEY = "ORDERS"
PROJECT_FILE = Path("projects") / "orders.yml"


# -- what some commands promise beyond a line of output ------------------------------------------
def _dss_project(dss: Any) -> Any:
    return dss.client().get_project(KEY)


def _description(dss: Any) -> str:
    return str(_dss_project(dss).get_dataset("orders_raw").get_settings().get_raw().get("description"))


def _changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _check_dry_run(dss: Any, root: Path, result: CliResult) -> None:
    assert (root / PROJECT_FILE).read_bytes() == (EXAMPLE / PROJECT_FILE).read_bytes(), "the dry run wrote the file"


def _check_diff(dss: Any, root: Path, result: CliResult) -> None:
    assert _changed_lines(result.stdout) == [
        "-      min_amount: 0               # orders below this amount are dropped by clean_orders",
        "+      min_amount: 10              # orders below this amount are dropped by clean_orders",
        "-    description: Orders as they land   # someone will edit this in the DSS UI",
        "+    description: Orders as they land, deduplicated by the warehouse   # someone will edit this in the DSS UI",
        "-        hour: 2                   # in the DSS server's time zone",
        "+        hour: 4                   # in the DSS server's time zone",
    ], result.stdout


def _check_refresh_only(dss: Any, root: Path, result: CliResult) -> None:
    assert _description(dss) == "Raw orders (reloaded on Monday)", "a refresh-only apply changed DSS"
    state = json.loads((state_dir(root) / "state.json").read_text())
    recorded = state["resources"][f"dataset.{KEY}.orders_raw"]["attributes"]["description"]
    assert recorded == "Raw orders (reloaded on Monday)", recorded
    assert "Raw orders" not in (root / PROJECT_FILE).read_text(), "a refresh-only apply changed the configuration"


def _check_reverted(dss: Any, root: Path, result: CliResult) -> None:
    assert _description(dss) == "Orders as they land, deduplicated by the warehouse"
    trigger = _dss_project(dss).get_scenario("NIGHTLY").get_settings().get_raw()["triggers"][0]
    assert trigger["params"]["hour"] == 5, "drift --revert touched the scenario, whose policy is alert"
    assert "An apply would revert the drift above (the configuration did not change): 0 to add, 1 to change" in result.stdout


def _check_replaced(dss: Any, root: Path, result: CliResult) -> None:
    names = [d["name"] for d in _dss_project(dss).list_datasets()]
    assert sorted(names) == ["orders_clean", "orders_raw", "orders_sample"], names
    recipes = sorted(r["name"] for r in _dss_project(dss).list_recipes())
    assert recipes == ["clean_orders", "export_orders"], recipes


def _check_excluded(dss: Any, root: Path, result: CliResult) -> None:
    project = _dss_project(dss)
    folder = project.list_managed_folders()[0]
    assert project.get_managed_folder(folder["id"]).get_settings().get_raw()["description"] == "CSV and Excel exports for finance"
    trigger = project.get_scenario("NIGHTLY").get_settings().get_raw()["triggers"][0]
    assert trigger["params"]["hour"] == 4, "the excluded scenario was changed"


def _check_excluded_plan(dss: Any, root: Path, result: CliResult) -> None:
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in result.stdout
    assert "managed_folder.ORDERS.exports" in result.stdout and "scenario.ORDERS.NIGHTLY" not in result.stdout


def _check_graph(dss: Any, root: Path, result: CliResult) -> None:
    assert result.stdout.startswith("flowchart ")
    nodes = dict(re.findall(r'^\s+(n\d+)\["([^"]+)"\]', result.stdout, re.M))
    edges = set(re.findall(r"^\s+(n\d+) --> (n\d+)$", result.stdout, re.M))
    named = {(nodes[a], nodes[b]) for a, b in edges}
    assert ("recipe<br/>clean_orders", "dataset<br/>orders_raw") in named, named
    assert ("scenario<br/>NIGHTLY", "dataset<br/>orders_clean") in named, named


def _check_footprint_json(dss: Any, root: Path, result: CliResult) -> None:
    report = result.json()
    recommendations = {(r["kind"], r["address"]) for r in report["projects"][0]["recommendations"]}
    assert recommendations == {
        ("dataset_unread", f"dataset.{KEY}.orders_sample"),
        ("recipe_never_run", f"recipe.{KEY}.clean_orders"),
        ("recipe_never_run", f"recipe.{KEY}.export_orders"),
    }, recommendations
    assert report["cost"] is None


Check = Callable[[Any, Path, CliResult], None]
CHECKS: dict[str, Check] = {
    "dataiku-iac pull -e dev --dry-run": _check_dry_run,
    "git diff": _check_diff,
    "dataiku-iac apply -e dev --refresh-only --auto-approve": _check_refresh_only,
    "dataiku-iac drift -e dev --revert": _check_reverted,
    "dataiku-iac apply -e dev replace.plan": _check_replaced,
    "dataiku-iac plan -e dev --exclude scenario.ORDERS.NIGHTLY": _check_excluded_plan,
    "dataiku-iac apply -e dev --exclude scenario.ORDERS.NIGHTLY --auto-approve": _check_excluded,
    "dataiku-iac graph -e dev --format mermaid": _check_graph,
    "dataiku-iac report footprint -e dev --format json": _check_footprint_json,
}


def test_the_readme_commands_run_and_print_what_the_readme_says(dss: Any, tmp_path: Path) -> None:
    steps = walkthrough_steps(README.read_text())
    root = tmp_path / "day-two"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".dataiku-iac", "__pycache__"))
    met: set[str] = set()
    env = shell_env(dss)
    for step in steps:
        result = run_step(dss, root, step, env)
        where = step.where(result)
        assert result.returncode == step.exit_code, where
        assert "Traceback" not in result.output, where
        for text in step.prints:
            assert text in result.stdout, f"{text!r} not printed\n{where}"
        check: Optional[Check] = CHECKS.get(step.command)
        if check is not None:
            check(dss, root, result)
            met.add(step.command)
    assert met == set(CHECKS), f"the README no longer runs: {sorted(set(CHECKS) - met)}"
    assert len(steps) >= 30, [s.command for s in steps]


def test_the_walkthrough_parser_reads_exit_codes_and_quoted_output() -> None:
    text = "intro\n```sh\nnot run\n```\n## Walk-through\n```yaml\nnot: run\n```\n```sh\n# a comment\n" \
           'dataiku-iac drift -e dev     # exit 2: "Drift detected" and "3 changed"\n' \
           "python edit_in_dss.py --description \"oops\"\n```\n"
    steps = walkthrough_steps(text)
    assert [(s.command, s.exit_code, s.prints) for s in steps] == [
        ("dataiku-iac drift -e dev", 2, ("Drift detected", "3 changed")),
        ('python edit_in_dss.py --description "oops"', 0, ()),
    ]
    assert steps[0].line == 11
