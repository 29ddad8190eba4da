"""One place for the configuration's defaults (dataiku_iac/defaults.py): the loader, the
builder, the policies, the state backends and `dataiku-iac init` all take them from there, and
docs/config-reference.md's "Default" columns say the same values (issue 11: there were four
copies: the loader, engine/policies, the builder, the state store and the session)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from dataiku_iac import defaults
from dataiku_iac.cli import scaffold
from dataiku_iac.config import load_config
from dataiku_iac.engine.policies import policies_of
from dataiku_iac.state import open_state

PACKAGE = Path(defaults.__file__).resolve().parent
REFERENCE = PACKAGE.parents[1] / "docs" / "config-reference.md"


def _flat(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _documented_defaults(section: str) -> dict[str, str]:
    """`key` -> the Default cell of the table under the heading starting with `section`."""
    text = REFERENCE.read_text(encoding="utf-8")
    body = text[text.index(f"## {section}"):]
    body = body[: body.index("\n## ", 1)]
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]  # an escaped \| is no border
        if len(cells) >= 4 and re.fullmatch(r"`[a-z_.]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[2]
    return rows


def _as_documented(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return '`""`'
    if value == {}:
        return "`{}`"
    return f"`{value}`"


@pytest.mark.parametrize(("section", "values", "unwritten"), [
    ("iac.yml", defaults.SETTINGS, set()),
    # dss.url falls back to $DKU_DSS_URL; policies and state fall back to iac.yml's
    ("Environment files", defaults.ENVIRONMENT, {"dss.url", "policies", "state"}),
])
def test_the_reference_documents_every_default(section, values, unwritten):
    documented = _documented_defaults(section)
    for key, value in _flat(values).items():
        if key in unwritten:
            continue
        assert key in documented, f"docs/config-reference.md does not list {key}"
        assert documented[key].split(" ")[0] == _as_documented(value), key


def test_the_loader_fills_in_these_defaults(tmp_path):
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yml").write_text("", encoding="utf-8")
    cfg = load_config(tmp_path, environment="dev", projects=False)
    assert cfg.settings == defaults.SETTINGS
    assert cfg.environment is not None and cfg.environment.data == defaults.ENVIRONMENT


def test_the_policies_default_to_these():
    settings = SimpleNamespace(settings={}, environment=None)
    policies = policies_of(settings, "dev")
    assert {name: getattr(policies, name) for name in defaults.POLICIES} == defaults.POLICIES
    assert set(policies.sources.values()) == {"default"}


def test_the_local_state_backend_defaults_to_this_path(tmp_path):
    writer = open_state({}, environment="dev", config_root=tmp_path)
    writer.write(writer.read(), expected_serial=0, operation="test")
    assert (tmp_path / defaults.LOCAL_STATE_PATH / "dev").is_dir()


def test_init_writes_these_defaults():
    written = yaml.safe_load(scaffold.IAC_YML)
    assert written["defaults"] == {"dataset": {"connection": defaults.DATASET_CONNECTION},
                                   "managed_folder": {"connection": defaults.FOLDER_CONNECTION}}
    assert written["state"] == {"backend": defaults.STATE_BACKEND, "path": defaults.LOCAL_STATE_PATH}
    assert yaml.safe_load(scaffold.DEV_YML)["dss"] == {"api_key_env": defaults.API_KEY_ENV}


def test_no_other_module_spells_a_default():
    """The values themselves appear in defaults.py only (docstrings and comments aside)."""
    values = {defaults.DATASET_CONNECTION, defaults.FOLDER_CONNECTION, defaults.LOCAL_STATE_PATH}
    spelled = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "defaults.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in values:
                spelled.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert spelled == []
