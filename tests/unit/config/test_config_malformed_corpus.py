"""The malformed-config corpus (tests/fixtures/malformed): every loader case fails with the
expected located diagnostics; every model case loads cleanly (the model builder rejects it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from dataiku_iac.builder import build_desired, check_config
from dataiku_iac.config import load_config
from dataiku_iac.errors import ConfigError

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "malformed"
sys.path.insert(0, str(CORPUS))
from materialize import cases, expectations, matches, materialize, stage  # noqa: E402

LOADER_CASES = [c for c in cases() if stage(c) == "loader"]
MODEL_CASES = [c for c in cases() if stage(c) == "model"]


def test_corpus_size():
    assert len(LOADER_CASES) >= 50
    assert len(MODEL_CASES) >= 8


@pytest.mark.parametrize("case", LOADER_CASES, ids=lambda c: c.name)
def test_loader_case(case: Path, tmp_path: Path):
    root = materialize(case, tmp_path / "cfg")
    with pytest.raises(ConfigError) as info:
        load_config(root, "dev")
    diagnostics = info.value.diagnostics
    rendered = "\n".join(d.render() for d in diagnostics)
    for expected in expectations(case):
        if expected["stage"] != "loader":
            continue  # a case of several stages: the builder's part is checked by test_one_run_case
        assert any(matches(expected, d) for d in diagnostics), f"{expected} not in:\n{rendered}"
    for diag in diagnostics:
        assert "Traceback" not in diag.message
        assert diag.severity == "error"


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
def test_model_case_loads_without_loader_errors(case: Path, tmp_path: Path):
    """The loader accepts the case as it is (nothing dropped or repaired on the way): the builder,
    given what it loaded, still finds every expected problem."""
    cfg = load_config(materialize(case, tmp_path / "cfg"), "dev")
    assert cfg.errors == [] and cfg.warnings == []
    with pytest.raises(ConfigError) as info:
        build_desired(cfg, secrets={})
    diagnostics = info.value.diagnostics
    rendered = "\n".join(d.render() for d in diagnostics)
    for expected in map(_as_the_builder_reports_it, expectations(case)):
        assert any(matches(expected, d) for d in diagnostics), f"{expected} not in:\n{rendered}"


def _as_the_builder_reports_it(expected: dict) -> dict:
    """check_config blames a problem an override causes on the override's line (test_one_run_case);
    the builder alone reports it where the overridden value sits."""
    message, blamed, _ = expected["message_contains"].partition(" (at ")
    return {**expected, "file": None, "line": None, "message_contains": message} if blamed else expected


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_one_run_case(case: Path, tmp_path: Path):
    """What the CLI runs (`check_config`): every expectation of every case, loader and model
    stages together, in one ConfigError."""
    root = materialize(case, tmp_path / "cfg")
    with pytest.raises(ConfigError) as info:
        check_config(root, "dev", secrets={})
    diagnostics = info.value.diagnostics
    rendered = "\n".join(d.render() for d in diagnostics)
    for expected in expectations(case):
        assert any(matches(expected, d) for d in diagnostics), f"{expected} not in:\n{rendered}"
    assert all(d.severity == "error" for d in diagnostics)
