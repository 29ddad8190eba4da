"""Every YAML example in docs/config-reference.md is valid (docs that lie are worse than none)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dataiku_iac.config.schema import check, load_schema
from dataiku_iac.config.yamlsafe import parse_yaml

DOC = Path(__file__).resolve().parents[3] / "docs" / "config-reference.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
# A project file's top-level keys: every registered type's section, and the others (unmanaged, import).
PROJECT_KEYS = set(load_schema("project")["properties"])
IAC_KEYS = {"version", "defaults", "state", "policies", "compliance"}
STUB = {"key": "P", "name": "p"}


def kind_of(data: dict) -> str:
    if set(data) <= PROJECT_KEYS:
        return "project"
    if set(data) <= IAC_KEYS:
        return "iac"
    return "environment"


def test_the_reference_has_examples():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.splitlines()[0][:40])
def test_example_is_valid(block):
    parsed = parse_yaml(block, "doc")
    assert parsed.diagnostics == [] and isinstance(parsed.data, dict)
    data = parsed.data
    kind = kind_of(data)
    if kind == "project":
        data = {"project": STUB, **data}
    assert check(data, kind) == []
