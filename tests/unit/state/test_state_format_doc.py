"""docs/state-format.md describes the state the code writes: its field tables list exactly the
schema's fields, and the rows that went stale once (`version_tag`, `secret_fingerprints`) say
what the code does with them."""

from __future__ import annotations

import re
from pathlib import Path

from dataiku_iac.engine.observe import IN_SYNC, TRUST_ENV
from dataiku_iac.state.schema import RESOURCE_SCHEMA, STATE_SCHEMA
from statetest_helpers import doc_with

DOC = Path(__file__).resolve().parents[3] / "docs" / "state-format.md"


def table_rows(heading: str) -> dict[str, str]:
    """{field: whole row} of the table under `### heading`."""
    section = DOC.read_text(encoding="utf-8").split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    return {match.group(1): match.group(0) for match in re.finditer(r"^\| `([a-z_]+)` \|.*$", section, re.M)}


def test_the_header_table_lists_exactly_the_state_fields() -> None:
    assert sorted(table_rows("Header fields")) == sorted(STATE_SCHEMA["properties"])


def test_the_resource_table_lists_exactly_the_resource_fields() -> None:
    assert sorted(table_rows("Resource fields")) == sorted(RESOURCE_SCHEMA["properties"])


def test_the_version_tag_row_says_what_the_tag_is_used_for() -> None:
    row = table_rows("Resource fields")["version_tag"]
    assert f'"{IN_SYNC}": true' in row and TRUST_ENV in row
    assert "drift hint" not in row


def test_secret_fingerprints_is_read_but_no_longer_written_as_its_row_says() -> None:
    row = table_rows("Resource fields")["secret_fingerprints"]
    assert "Format 1 only" in row and "no longer written" in row
    written = doc_with().to_json()
    assert written["resources"] and all("secret_fingerprints" not in r for r in written["resources"].values())
