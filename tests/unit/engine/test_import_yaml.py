"""The YAML `import` writes: multi-line text as `|` blocks, and every string read back exactly by
the configuration loader's own reader (not only by PyYAML)."""

from __future__ import annotations

import yaml
from dataiku_iac.config.yamlsafe import parse_yaml
from dataiku_iac.engine.importer import _dump
from hypothesis import given, settings
from hypothesis import strategies as st


def _read_back(text: str) -> object:
    parsed = parse_yaml(text, "projects/p.yml")
    assert parsed.usable and not parsed.diagnostics, parsed.diagnostics
    return parsed.data


def test_multi_line_text_is_written_as_a_literal_block() -> None:
    description = "Customer tables.\nRefreshed nightly by S_0.\n"
    code = "import dataiku\n\nprint('hello')\n"
    text = _dump({"project": {"key": "P", "description": description}, "recipes": [{"code": code}]})
    assert "description: |\n    Customer tables.\n    Refreshed nightly by S_0.\n" in text
    assert "code: |\n" in text and "\n\n" in text.split("code: |\n", 1)[1]
    assert _read_back(text) == {
        "project": {"key": "P", "description": description},
        "recipes": [{"code": code}],
    }


def test_text_a_block_cannot_hold_keeps_a_quoted_form() -> None:
    for value in ("trailing space \nnext", "a\r\nb", "nel\x85here\nx", "tab\tthen\nline"):
        text = _dump({"d": value})
        assert "d: |" not in text, text
        assert _read_back(text) == {"d": value}


def test_text_the_config_reader_would_take_for_a_number_is_quoted() -> None:
    """Found by the property below: PyYAML (YAML 1.1) writes `0E0` plain, and the config reader
    (YAML 1.2 core schema) read it back as the float 0.0."""
    for value in ("0E0", "1e3", "0o17", "0x1F", "-5", ".5", "+1.5e-3", "null", "~", "true", "False", ""):
        text = _dump({"d": value})
        assert _read_back(text) == {"d": value}, text


@settings(max_examples=500, deadline=None, derandomize=True)  # CI-stable; run with more examples by hand
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_every_string_round_trips_through_the_config_reader(value: str) -> None:
    text = _dump({"description": value})
    assert yaml.safe_load(text) == {"description": value}
    assert _read_back(text) == {"description": value}
