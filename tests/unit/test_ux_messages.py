"""Small things a new user reads (issue 10 follow-ups): plurals, long loops, init's skeleton,
URL scheme case."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from dataiku_iac.builder import loop_text
from dataiku_iac.cli import scaffold
from dataiku_iac.config import load_config
from dataiku_iac.engine.drift import DriftReport
from dataiku_iac.output.drift import render_drift
from dataiku_iac.output.text import Style


def test_one_resource_is_singular() -> None:
    assert "(1 resource checked)" in render_drift(DriftReport(environment="dev", checked=1), Style())
    assert "(2 resources checked)" in render_drift(DriftReport(environment="dev", checked=2), Style())


def test_a_long_loop_is_abbreviated_and_a_short_one_is_not() -> None:
    assert loop_text(["a", "b", "c"]) == "a -> b -> c -> a"
    names = [f"dataset_{i:04d}" for i in range(1000)]
    text = loop_text(names)
    assert len(text) < 200 and "(993 more)" in text, text
    assert text.startswith("dataset_0000 -> ") and text.endswith(" -> dataset_0999 -> dataset_0000")


def test_init_ignores_the_plan_files_the_docs_name_and_says_which_url_wins() -> None:
    patterns = [line for line in scaffold.GITIGNORE.splitlines() if line and not line.startswith("#")]
    for name in ("prod.plan", "rb.plan", "release.tfplan.json"):
        assert any(fnmatch.fnmatch(name, p) for p in patterns), (name, patterns)
    comment = " ".join(line for line in scaffold.DEV_YML.splitlines() if line.startswith("#"))
    assert "reached at $DKU_DSS_URL, or at dss.url when DKU_DSS_URL is unset" in comment


def test_an_upper_case_url_scheme_is_a_url(tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "iac.yml").write_text(scaffold.IAC_YML)
    (tmp_path / "environments" / "dev.yml").write_text("dss:\n  url: HTTP://dss.example:11200\n")
    loaded = load_config(tmp_path, "dev", projects=False)
    assert loaded.environment is not None and loaded.environment.data["dss"]["url"] == "HTTP://dss.example:11200"
