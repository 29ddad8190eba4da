"""The plan as a review document (`show --format markdown|gitlab`, output/markdown.py).

Golden files: tests/golden/markdown/<case>.md is the Markdown of the planner golden case of that
name (tests/golden/<case>/) or of tests/golden/markdown/cases/<case>/ (cases that only the
Markdown needs: a secret variable, values holding backticks and HTML). UPDATE_GOLDEN=1 rewrites
them after a deliberate change; review the diff. The rest checks what no single file shows: the
size budget at 0 to 5,000 resources, the marker, GitLab's report against GitLab's own recipe."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest
from dataiku_iac.errors import PlanError
from dataiku_iac.output.markdown import (
    GITHUB_COMMENT_LIMIT,
    find_marker,
    gitlab_report,
    marker,
    render_markdown,
)
from dataiku_iac.output.text import render_plan
from dataiku_iac.planner.plan import Action, FieldChange, Plan, PlanOptions, ResourceChange
from dataiku_iac.planner.planner import plan as compute_plan
from dataiku_iac.secrets import Fingerprinter, fingerprint_desired

from .golden_support import load_case
from .test_golden import _options

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
MARKDOWN = GOLDEN / "markdown"
OWN_CASES = MARKDOWN / "cases"
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))
SECRET = "canary-0f1e2d3c-secret-value"  # the value of IAC_SECRET_TOKEN in the cases


def _case_dir(name: str) -> Path:
    return OWN_CASES / name if (OWN_CASES / name).is_dir() else GOLDEN / name


CASES = sorted([p.name for p in GOLDEN.iterdir() if (p / "config").is_dir()]
               + [p.name for p in OWN_CASES.iterdir() if (p / "config").is_dir()])


def _golden_plan(name: str) -> Plan | None:
    case = _case_dir(name)
    desired, state, observed = load_case(case, {"IAC_SECRET_TOKEN": SECRET})
    desired = fingerprint_desired(desired, Fingerprinter("ab" * 32))
    try:
        result = compute_plan(desired, state, observed, _options(case), created_at="2026-01-01T00:00:00+00:00")
    except PlanError:
        return None  # an error case of the planner's golden tests: no plan to show
    # What the digest covers besides the plan's content, fixed: the files stay put when the
    # version or the configuration's digest scheme moves.
    return dataclasses.replace(result, tool_version="golden", config_digest="0" * 64, source={})


def _markdown(plan_record: Plan, **kwargs) -> str:
    return render_markdown(plan_record, digest=plan_record.to_json()["digest"], **kwargs)


@pytest.mark.parametrize("name", CASES)
def test_golden_markdown(name: str) -> None:
    plan_record = _golden_plan(name)
    if plan_record is None:
        return
    actual = _markdown(plan_record)
    assert SECRET not in actual
    path = MARKDOWN / f"{name}.md"
    if UPDATE or not path.exists():
        path.write_text(actual, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{path} did not exist: written; review it and re-run")
    assert actual == path.read_text(encoding="utf-8"), f"{path.name} differs (UPDATE_GOLDEN=1 to accept a deliberate change)"


def test_the_summary_line_comes_first_and_the_marker_carries_the_digest() -> None:
    plan_record = _golden_plan("dataset_connection_replaced")
    assert plan_record is not None
    digest = plan_record.to_json()["digest"]
    text = _markdown(plan_record)
    assert text.splitlines()[0] == "**Plan: 1 to add, 0 to change, 1 to destroy.**"
    assert text.rstrip("\n").splitlines()[-1] == f"<!-- dataiku-iac plan env=dev digest={digest} -->"
    assert find_marker(text, "dev") == digest
    assert find_marker(text, "prod") is None


def test_destructive_changes_are_flagged_at_the_top_before_any_section() -> None:
    plan_record = _golden_plan("destroy_all")
    assert plan_record is not None
    text = _markdown(plan_record)
    top = text.split("<details", 1)[0]
    assert "Destructive changes: 2 deletions." in top
    assert "`- project.DEMO_PROJECT` will be destroyed" in top
    assert "`- dataset.DEMO_PROJECT.TEST_DATA` will be destroyed" in top
    assert "will be DELETED" in top  # --drop-data's warning
    replaced = _markdown(_golden_plan("dataset_connection_replaced")).split("<details", 1)[0]
    assert "must be replaced (forced by: connection)" in replaced


def test_one_section_per_project_and_per_resource() -> None:
    plan_record = _plan_of(60, projects=3)
    text = _markdown(plan_record)
    assert text.count("<details open><summary>Project <code>") == 3
    assert text.count("<details><summary>") == 60
    assert text.count("<details") == text.count("</details>")


def test_secret_values_are_hidden_as_the_text_plan_hides_them() -> None:
    text = (MARKDOWN / "secret_variable.md").read_text(encoding="utf-8")
    assert "variables.standard.api_token = (sensitive value) (from $IAC_SECRET_TOKEN)" in text
    assert SECRET not in text


def test_values_cannot_close_the_code_block_nor_open_html() -> None:
    text = _markdown(_golden_plan("secret_variable"))
    # the description holds ``` and </details>: the block's fence is longer than any run in it
    assert "\n````diff\n" in text
    body = text.split("````diff\n", 1)[1].split("\n````\n", 1)[0]
    assert "</details> <b>html</b>" in body
    outside = text.replace(body, "")
    assert "<b>" not in outside


def test_a_sensitive_field_is_hidden() -> None:
    change = ResourceChange(
        address="dataset.P.d", type="dataset", project_key="P", name="d", action=Action.UPDATE, reason="r",
        before={"password": "old-pass-value"}, after={"password": "new-pass-value"},
        field_changes=(FieldChange("password", "old-pass-value", "new-pass-value", sensitive=True),),
        sensitive_fields=("password",),
    )
    created = dataclasses.replace(change, address="dataset.P.e", name="e", action=Action.CREATE, before=None, field_changes=())
    plan_record = Plan.from_json(_plan("dev", [change, created]).to_json())  # as read back from a file
    text = _markdown(plan_record)
    assert "pass-value" not in text
    assert "password = (sensitive value)" in text and "\"(sensitive value)\"" not in text  # as the text plan says it (Terraform's, unquoted)
    assert "+ password = (sensitive value)" in render_plan(plan_record)


def _change(index: int, project: str, action: Action = Action.CREATE, size: int = 1) -> ResourceChange:
    attributes = {"connection": "filesystem_managed", "description": "x" * size, "format": "parquet"}
    return ResourceChange(
        address=f"dataset.{project}.d{index:05d}", type="dataset", project_key=project, name=f"d{index:05d}",
        action=action, reason="new in the config" if action == Action.CREATE else "gone from the config",
        before=attributes if action == Action.DELETE else None, after=None if action == Action.DELETE else attributes,
    )


def _plan(environment: str, changes: list[ResourceChange], **kwargs) -> Plan:
    return Plan(environment=environment, lineage="l", serial=1, config_digest="c", changes=tuple(changes),
                created_at="2026-01-01T00:00:00+00:00", **kwargs)


def _plan_of(count: int, projects: int = 1, size: int = 1, action: Action = Action.CREATE) -> Plan:
    return _plan("dev", [_change(i, f"P{i % projects}", action, size) for i in range(count)])


@pytest.mark.parametrize("count", [0, 1, 500, 5000])
def test_the_document_fits_github_s_limit_at_any_size(count: int) -> None:
    plan_record = _plan_of(count, projects=7, size=40)
    text = _markdown(plan_record)
    digest = plan_record.to_json()["digest"]
    assert len(text) <= 60_000 < GITHUB_COMMENT_LIMIT
    assert text.startswith(f"**Plan: {count} to add, 0 to change, 0 to destroy.**" if count else "**No changes.")
    assert find_marker(text, "dev") == digest
    assert text.count("<details") == text.count("</details>")
    if count == 5000:
        assert "Truncated to fit a comment" in text
        assert re.search(r"\d+ of 5000 resources are listed", text)
    if count <= 1:
        assert "Truncated" not in text


def test_truncation_drops_the_largest_diffs_first_and_says_where_the_full_plan_is() -> None:
    changes = [_change(i, "P", size=30) for i in range(20)] + [_change(99, "P", size=70_000)]
    text = _markdown(_plan("dev", changes), artifact="artifact plan-dev (https://ci.example/run/1)")
    assert len(text) <= 60_000
    assert "x" * 70_000 not in text  # the one large diff is left out...
    assert text.count("x" * 30) == 20  # ...and every other diff is kept
    assert "20 of 21 resources' diffs are shown" in text
    assert "The full plan: artifact plan-dev (https://ci.example/run/1)." in text
    assert text.count("(diff left out of this comment for its size)") == 1


def test_a_destroy_heavy_plan_lists_its_first_deletions_at_the_top() -> None:
    text = _markdown(_plan_of(3000, projects=2, size=20, action=Action.DELETE), max_chars=30_000)
    assert len(text) <= 30_000
    assert "Destructive changes: 3000 deletions." in text
    assert "…and 2980 more (in the sections below)" in text


def test_the_marker_is_per_environment_and_only_a_line_of_its_own() -> None:
    line = marker("prod eu", "ab" * 32)
    assert line == "<!-- dataiku-iac plan env=prod%20eu digest=" + "ab" * 32 + " -->"
    assert find_marker(f"text\n{line}\n", "prod eu") == "ab" * 32
    assert find_marker(f"text\n> {line}\n", "prod eu") is None  # a quoted reply
    assert find_marker(f"text\n{marker('dev', 'cd' * 32)}\n", "prod eu") is None


def _gitlab_recipe(plan_json: dict) -> dict:
    """GitLab's documented jq filter over a Terraform JSON plan, in Python:
    ([.resource_changes[]?.change.actions?]|flatten)|{"create":(map(select(.=="create"))|length), ...}"""
    actions = [word for change in plan_json.get("resource_changes", []) for word in change["change"]["actions"]]
    return {"create": actions.count("create"), "update": actions.count("update"), "delete": actions.count("delete")}


@pytest.mark.parametrize("name", [n for n in CASES if n != "secret_variable"])
def test_gitlab_report_is_gitlab_s_recipe_over_the_json_plan(name: str) -> None:
    plan_record = _golden_plan(name)
    if plan_record is None:
        return
    report = gitlab_report(plan_record)
    assert report == _gitlab_recipe(plan_record.to_json())
    assert list(report) == ["create", "update", "delete"]


def test_gitlab_report_counts_a_replacement_as_a_create_and_a_delete() -> None:
    changes = [_change(0, "P"), _change(1, "P", Action.DELETE), dataclasses.replace(_change(2, "P"), action=Action.REPLACE),
               dataclasses.replace(_change(3, "P"), action=Action.UPDATE), dataclasses.replace(_change(4, "P"), action=Action.FORGET)]
    assert gitlab_report(_plan("dev", changes)) == {"create": 2, "update": 1, "delete": 2}
    assert json.dumps(gitlab_report(_plan("dev", []))) == '{"create": 0, "update": 0, "delete": 0}'


def test_options_do_not_change_the_digest_binding() -> None:
    """The marker carries the digest of the saved file, whatever the plan record says."""
    plan_record = _plan("dev", [_change(0, "P")], options=PlanOptions(destroy=True))
    assert find_marker(render_markdown(plan_record, digest="f" * 64), "dev") == "f" * 64


def test_a_long_value_s_lines_keep_the_symbol_of_their_change() -> None:
    """A line of code may itself start with "-" or "+": in a created resource's diff every line is
    an addition; in an update, the old value's lines are removals and the new one's additions."""
    code = "-- a SQL comment that is long enough to be shown on several lines\n  - an indented dash\n+ a plus\nSELECT 1\n"
    created = ResourceChange(address="recipe.P.r", type="recipe", project_key="P", name="r", action=Action.CREATE,
                             reason="new in the config", after={"code": code, "kind": "sql_query"})
    updated = dataclasses.replace(created, action=Action.UPDATE, before={"code": "SELECT 0\n-- old"}, after={"code": code},
                                  field_changes=(FieldChange("code", "SELECT 0\n-- old", code),))
    for change in (created, updated):
        text = _markdown(_plan("dev", [change]))
        block = text.split("```diff\n", 1)[1].split("\n```\n", 1)[0].splitlines()[1:]  # after the reason
        if change.action == Action.CREATE:
            assert all(line.startswith("+") for line in block), block
            assert "+         - an indented dash" in block and "+       + a plus" in block
        else:
            assert block[1] == "!       code:"
            # A text diff: its removed lines are the old value's, its added lines the new one's
            assert [line for line in block[2:] if line.startswith("-")] == ["-           SELECT 0", "-           -- old"]
            assert [line for line in block[2:] if line.startswith("+")] == ["+           " + line for line in code.rstrip("\n").splitlines()]
            assert len(block) == 2 + 2 + len(code.rstrip("\n").splitlines())


def test_a_text_diff_shows_the_changed_lines_with_context_kept_as_context() -> None:
    """Markdown whose unchanged lines start with "- " (a list): in the Markdown plan they stay
    context lines, only the changed line is a removal and an addition."""
    before = "# Sources\n\n- orders\n- customers\n- returns\n\nmore\nlines\nhere\nend\n"
    after = before.replace("- customers\n", "- customers (CRM)\n")
    change = ResourceChange(address="wiki_article.P.a", type="wiki_article", project_key="P", name="a",
                            action=Action.UPDATE, reason="the config changed: content", before={"content": before},
                            after={"content": after}, field_changes=(FieldChange("content", before, after),))
    block = _markdown(_plan("dev", [change])).split("```diff\n", 1)[1].split("\n```\n", 1)[0].splitlines()[2:]
    assert [line for line in block if line[:1] in "+-"] == ["-           - customers", "+           - customers (CRM)"]
    assert "             - orders" in block and not any("end" in line for line in block)  # two lines of context
