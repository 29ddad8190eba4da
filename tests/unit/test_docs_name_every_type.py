"""The docs that list the resource types by hand name every registered type. A new type adds
itself to these lines (docs/architecture.md, "Adding a resource type", step 7 lists them); this
test says which one it forgot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dataiku_iac.resources.registry import specs
from dataiku_iac.resources.spec import ResourceSpec

ROOT = Path(__file__).resolve().parents[2]


def _read(rel: str) -> str:
    return (ROOT / rel).read_text(encoding="utf-8")


def readme_first_paragraph() -> str:
    text = _read("README.md").split("\n\n")[1]
    return " ".join(text.split())


def cli_reference_addresses() -> str:
    return _read("docs/cli-reference.md").split("## Addresses", 1)[1].split("\n## ", 1)[0]


def state_format_type_row() -> str:
    return next(line for line in _read("docs/state-format.md").splitlines() if line.startswith("| `type` |"))


@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.type)
def test_the_docs_listing_types_name_this_one(spec: ResourceSpec) -> None:
    plural = spec.label + "s"
    assert re.search(rf"\b{re.escape(plural)}\b", readme_first_paragraph()), f"README.md's first paragraph lacks {plural!r}"
    shape = f"`{spec.type}.KEY`" if not spec.named else f"`{spec.type}.KEY.{spec.id_key.upper()}`"
    assert shape in cli_reference_addresses(), f"docs/cli-reference.md, Addresses, lacks {shape}"
    assert f"`{spec.type}`" in state_format_type_row(), f"docs/state-format.md's `type` row lacks `{spec.type}`"
