"""Acceptance (issue 11): a resource type defined in one spec (tests/support/throwaway_type.py) and
registered with one line gets validate (file:line errors), plan, apply, drift, import and the state
commands, against the emulator through the real dataikuapi client, with no other file touched.

The CLI runs in this process (click's runner), since the registration lives in this process.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from click.testing import CliRunner
from dataiku_iac.address import Address, AddressError
from dataiku_iac.cli.main import cli
from dataiku_iac.config.schema import load_schema
from dataiku_iac.resources.registry import find_spec, registered

from tests.support import throwaway_type
from tests.support.cli import write_config

KEY = "ZT"
PROJECT = f"""\
project:
  key: {KEY}
  name: Zones

throwaway_zones:
  - name: raw
    color: "#ff0000"
  - name: clean
"""


@pytest.fixture
def zone_type() -> Iterator[Any]:
    with registered(throwaway_type.SPEC) as spec:  # the one registration line
        yield spec


def run(dss: Any, root: Path, *args: str, expect: int = 0) -> str:
    """`dataiku-iac --no-color -C root ARGS` in this process; its exit code is asserted."""
    env = {"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key, "NO_COLOR": "1"}
    result = CliRunner().invoke(cli, ["--no-color", "-C", str(root), *args], env=env, standalone_mode=False)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    code = result.exit_code if isinstance(result.exception, SystemExit) else (result.return_value or 0)
    assert code == expect, f"dataiku-iac {' '.join(args)} exited {code}:\n{result.output}"
    return result.output


def zones(dss: Any, key: str = KEY) -> dict[str, str]:
    """name -> colour of the project's zones in DSS (the default zone left out)."""
    listed = dss.client().get_project(key).get_flow().list_zones()
    return {z.name: z.color for z in listed if z.id != "default"}


def test_validate_reports_each_bad_item_at_its_file_and_line(dss, tmp_path, zone_type) -> None:
    bad = PROJECT + '  - name: blank\n    color: "#FFFFFF"\n  - name: wrong\n    color: red\n    shape: round\n'
    root = write_config(tmp_path / "cfg", {"zones.yml": bad})
    out = run(dss, root, "validate", "-e", "dev", "--offline", expect=1)
    assert re.search(r"projects/zones\.yml:10:5\b.*white zone cannot be seen", out), out  # the spec's build
    assert re.search(r"projects/zones\.yml:12:12\b.*a colour is written #RRGGBB", out), out  # its schema fragment
    assert re.search(r"projects/zones\.yml:13:5\b.*shape", out), out
    good = write_config(tmp_path / "good", {"zones.yml": PROJECT})
    run(dss, good, "validate", "-e", "dev", "--offline")


def test_validate_reports_a_check_across_items_at_its_file_and_line(dss, tmp_path, zone_type) -> None:
    """The spec's `check_items` sees the built items of one project's section and reports at file:line."""
    twice = PROJECT + '  - name: again\n    color: "#FF0000"\n  - name: other\n    color: "#00ff00"\n'
    root = write_config(tmp_path / "cfg", {"zones.yml": twice})
    out = run(dss, root, "validate", "-e", "dev", "--offline", expect=1)
    assert re.search(r"projects/zones\.yml:10:5\b.*zone again has the colour of zone raw", out), out
    assert "has 1 problem" in out, out  # zone other has a colour of its own


def test_plan_apply_drift_and_state_commands(dss, tmp_path, zone_type) -> None:
    root = write_config(tmp_path / "cfg", {"zones.yml": PROJECT})
    plan = run(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2)
    assert "throwaway_zone.ZT.raw" in plan and "throwaway_zone.ZT.clean" in plan, plan
    run(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert zones(dss) == {"raw": "#ff0000", "clean": throwaway_type.DEFAULT_COLOR}
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")

    # Drift: a colour changed in DSS, and a zone made there by hand.
    flow = dss.client().get_project(KEY).get_flow()
    raw = next(z for z in flow.list_zones() if z.name == "raw")
    settings = raw.get_settings()
    settings.color = "#00ff00"
    settings.save()
    flow.create_zone("by_hand")
    drift = run(dss, root, "drift", "-e", "dev", expect=2)
    assert "throwaway_zone.ZT.raw" in drift and "throwaway_zone.ZT.by_hand" in drift, drift
    plan = run(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2)
    assert "color" in plan and "#00ff00" in plan, plan
    run(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert zones(dss)["raw"] == "#ff0000"

    # The state commands: list, show, mv (a zone has a DSS id: renamed in DSS, its address follows), rm.
    listed = run(dss, root, "state", "list", "-e", "dev")
    assert "throwaway_zone.ZT.raw" in listed and "throwaway_zone.ZT.clean" in listed, listed
    shown = run(dss, root, "state", "show", "-e", "dev", "throwaway_zone.ZT.raw")
    assert raw.id in shown and "#ff0000" in shown, shown
    settings = flow.get_zone(raw.id).get_settings()
    settings.name = "landing"
    settings.save()
    run(dss, root, "state", "mv", "-e", "dev", "throwaway_zone.ZT.raw", "throwaway_zone.ZT.landing")
    (root / "projects" / "zones.yml").write_text(PROJECT.replace("name: raw", "name: landing"), encoding="utf-8")
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")
    run(dss, root, "state", "rm", "-e", "dev", "throwaway_zone.ZT.clean")
    assert "throwaway_zone.ZT.clean" not in run(dss, root, "state", "list", "-e", "dev")
    assert "clean" in zones(dss)  # rm forgets, DSS keeps it


def test_import_writes_the_type_and_plans_no_changes(dss, tmp_path, zone_type) -> None:
    client = dss.client()
    client.create_project("ZI", "Imported zones", "admin")
    flow = client.get_project("ZI").get_flow()
    flow.create_zone("landing", color="#123456")
    flow.create_zone("plain")
    root = write_config(tmp_path / "cfg", {})
    run(dss, root, "import", "project", "ZI", "-e", "dev")
    written = yaml.safe_load((root / "projects" / "zi.yml").read_text(encoding="utf-8"))
    assert written["throwaway_zones"] == [{"name": "landing", "color": "#123456"}, {"name": "plain"}]
    listed = run(dss, root, "state", "list", "-e", "dev")
    assert "throwaway_zone.ZI.landing" in listed and "throwaway_zone.ZI.plain" in listed, listed
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")


def test_import_of_a_mixed_case_colour_plans_no_changes(dss, tmp_path, zone_type) -> None:
    """DSS keeps a colour as written ("#31439C" in its samples): to_logical normalises it as build
    does, or the imported file's colour would differ from DSS's on every plan."""
    client = dss.client()
    client.create_project("ZC", "Coloured zones", "admin")
    client.get_project("ZC").get_flow().create_zone("upper", color="#31439C")
    root = write_config(tmp_path / "cfg", {})
    run(dss, root, "import", "project", "ZC", "-e", "dev")
    written = yaml.safe_load((root / "projects" / "zc.yml").read_text(encoding="utf-8"))
    assert written["throwaway_zones"] == [{"name": "upper", "color": "#31439c"}]
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")


def test_import_of_a_free_text_name_never_writes_an_invalid_file(dss, tmp_path, zone_type) -> None:
    """DSS zone names are free text; the schema's names are not: to_config returns None, the zone is
    reported as not expressible and stays unmanaged, and the written file validates."""
    client = dss.client()
    client.create_project("ZN", "Named zones", "admin")
    flow = client.get_project("ZN").get_flow()
    flow.create_zone("Plain Zone")
    flow.create_zone("kept")
    root = write_config(tmp_path / "cfg", {})
    output = run(dss, root, "import", "project", "ZN", "-e", "dev")
    assert "not imported (not expressible in the config yet): throwaway_zone Plain Zone" in output, output
    written = yaml.safe_load((root / "projects" / "zn.yml").read_text(encoding="utf-8"))
    assert written["throwaway_zones"] == [{"name": "kept"}]
    run(dss, root, "validate", "-e", "dev", "--offline")
    assert "Plain Zone" not in run(dss, root, "state", "list", "-e", "dev")
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")
    assert "Plain Zone" in zones(dss, "ZN")  # left alone in DSS


def test_the_registration_ends_with_its_block() -> None:
    with registered(throwaway_type.SPEC):
        assert Address.parse("throwaway_zone.ZT.raw").type == "throwaway_zone"
        assert "throwaway_zones" in load_schema("project")["properties"]
    assert find_spec("throwaway_zone") is None
    assert "throwaway_zones" not in load_schema("project")["properties"]
    with pytest.raises(AddressError):
        Address.parse("throwaway_zone.ZT.raw")
