"""Whatever the input, the loader answers with diagnostics, never with a crash."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from dataiku_iac.config import load_config
from dataiku_iac.config.yamlsafe import parse_yaml
from dataiku_iac.errors import ConfigError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

YAML_ALPHABET = st.sampled_from(list("abkey:-[]{},'\"&*!#|>?% \n\t\\0123.~$") + ["project", "datasets", "name"])


@given(st.lists(YAML_ALPHABET, max_size=60).map("".join))
def test_the_reader_never_raises(text):
    result = parse_yaml(text, "f.yml")
    if not result.usable:
        assert result.diagnostics
    for diag in result.diagnostics:
        assert diag.line >= 0 and diag.column >= 0


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["name", "type", "key", "project", "datasets", "recipes", "x"]), inner, max_size=3),
), max_leaves=12)
documents = st.fixed_dictionaries({}, optional={
    "project": values, "datasets": values, "recipes": values, "scenarios": values, "managed_folders": values,
})


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents)
def test_any_project_document_loads_or_fails_with_located_errors(doc):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "projects").mkdir()
        (root / "environments").mkdir()
        (root / "environments" / "dev.yml").write_text("")
        # JSON is YAML: this writes any structure without a YAML emitter.
        (root / "projects" / "p.yml").write_text(json.dumps(doc) if doc else "{}")
        try:
            load_config(root, "dev")
        except ConfigError as exc:
            assert exc.diagnostics
            assert all(d.file.startswith("projects/") for d in exc.diagnostics)
