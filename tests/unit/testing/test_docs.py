"""docs/testing.md's example test file is valid against the test file schema (the docs stay true)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from dataiku_iac.config.schema import check

DOC = Path(__file__).resolve().parents[3] / "docs" / "testing.md"


def test_the_example_test_file_is_valid() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    files = [yaml.safe_load(b) for b in blocks if b.startswith("# tests/")]
    assert files, "docs/testing.md shows an example test file"
    for data in files:
        assert check(data, "test") == []
    assert {"schema", "quality", "expect", "expect_failure"} <= {k for t in files[0]["tests"] for k in t}
    kinds = {next(iter(r)) for t in files[0]["tests"] if "quality" in t for r in t["quality"]["rules"]}
    assert kinds >= {"not_null", "unique", "in_range", "in_set", "row_count", "regex", "references", "sql"}
