"""Issue 5 §4, secret canary: unique secrets never appear anywhere the tool writes.

Canaries: a secret project variable (`{secret_env: IAC_SECRET_FAULT_SUITE_TOKEN}` in the YAML, the value in
the process environment, then rotated twice), the password and a secret property of a SQL
connection seeded in the emulator (the configuration uses that connection; the engine's
connection checks read the admin connection list, which carries the property in clear), and the
API key itself (DKU_API_KEY is a canary key seeded as an admin key).

The CLI runs validate, plan (text, --json, --out), apply of the saved plan, drift, every state
read command, a rotation with DSS errors on the very request that carries the secret (a 500
refused, a 504 after DSS took it), an apply killed while that request is in flight and its
recovery, a plan in debug mode against a malformed DSS answer, and an import. Every stdout,
stderr, log, plan file, state/history/journal file and imported YAML is scanned: zero
occurrences. Sanity checks prove the canaries did flow where they should (DSS holds the secret
variable; the connection list the engine reads carries the property), so this test can fail.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fault import faultlib as fl

ROTATED = ("canary-rot1-0c4f8e2b7a91d3560fe4", "canary-rot2-b7e15a9c3d08f2641ae7")
ALL = (*fl.CANARIES, *ROTATED)


def _hits(text: str) -> list:
    return [c for c in ALL if c in text]


def canary_run(dss: Any, tmp_path: Path) -> dict:
    """Everything above; returns the leaks found and how much was scanned."""
    dss.admin.seed(api_keys=[{"key": fl.CANARY_API_KEY, "login": "admin", "admin": True, "groups": ["administrators"], "label": "canary"}])
    root = fl.write_config(tmp_path / "cfg")
    env = fl.cli_env(dss, DKU_API_KEY=fl.CANARY_API_KEY)
    outputs: list = []

    def run(*args: str, expect: Any = 0, **extra: str) -> fl.Run:
        result = fl.run_cli(dss, root, *args, env={**env, **extra})
        outputs.append(result)
        if expect is not None:
            assert result.returncode == expect, str(result)
        return result

    run("validate", "-e", "dev")
    run("plan", "-e", "dev")
    run("plan", "-e", "dev", "--json")
    run("plan", "-e", "dev", "--out", "saved-plan.json")
    run("apply", "-e", "dev", "saved-plan.json")

    # The canaries did reach DSS and the engine's reads: a leak would be possible.
    client = dss.client()
    assert client.get_project("FAULT").get_variables()["local"]["token"] == fl.CANARY_VARIABLE
    assert fl.CANARY_CONNECTION_PROP in json.dumps(client.list_connections())

    run("plan", "-e", "dev", "--detailed-exitcode")
    run("drift", "-e", "dev")
    run("drift", "-e", "dev", "--json")
    for args in (("list",), ("show",), ("pull",), ("history",), ("show", "project.FAULT")):
        run("state", *args, "-e", "dev")

    # Rotation 1: the variables PUT fails (500, refused), then is applied but answered 504.
    rotated = {fl.SECRET_ENV: ROTATED[0]}
    run("plan", "-e", "dev", "--json", **rotated)
    dss.admin.add_fault(method="PUT", path=r"/projects/FAULT/variables/$", status=500, mode="error", times=4)
    failed = run("apply", "-e", "dev", "--auto-approve", expect=1, **rotated)
    assert "variables" in failed.output or "Injected" in failed.output, str(failed)
    dss.admin.clear_faults()
    dss.admin.add_fault(method="PUT", path=r"/projects/FAULT/variables/$", status=504, mode="after", times=1)
    run("apply", "-e", "dev", "--auto-approve", expect=None, **rotated)
    dss.admin.clear_faults()
    run("apply", "-e", "dev", "--auto-approve", **rotated)
    assert client.get_project("FAULT").get_variables()["local"]["token"] == ROTATED[0]

    # Rotation 2: killed while the PUT carrying the secret is in flight, then recovered.
    rotated = {fl.SECRET_ENV: ROTATED[1]}
    base = fl.request_count(dss)
    dss.admin.add_fault(method="PUT", path=r"/projects/FAULT/variables/$", mode="hang", times=0, status=503, hang_seconds=60)
    proc = fl.spawn_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env={**env, **rotated}, log=root / "killed-apply.log")
    fl.wait_for(lambda: proc.poll() is not None or any(r["fired"] for r in dss.admin.faults()), what="the secret PUT")
    assert proc.poll() is None, (root / "killed-apply.log").read_text()
    journal = (root / ".dataiku-iac" / "state" / "dev" / "journal.jsonl").read_text()
    assert "project.FAULT" in journal, "the intent of the update is journaled before the call"
    proc.kill()
    proc.wait()
    dss.admin.clear_faults()
    assert fl.request_count(dss) > base
    recovery = fl.recover(dss, root, env={**env, **rotated})
    outputs.extend(recovery.runs)
    assert recovery.final.returncode == 0, recovery.output
    assert client.get_project("FAULT").get_variables()["local"]["token"] == ROTATED[1]

    # Debug mode against a malformed answer (an error envelope with status 200 where the
    # variables document is expected): whatever the engine makes of it, nothing leaks.
    dss.admin.add_fault(method="GET", path=r"/projects/FAULT/variables/$", status=200, mode="error", times=0)
    run("plan", "-e", "dev", expect=None, DATAIKU_IAC_DEBUG="1", **rotated)
    run("drift", "-e", "dev", "--json", expect=None, DATAIKU_IAC_DEBUG="1", **rotated)
    dss.admin.clear_faults()

    # Import writes secret-looking variables as {secret_env: NAME} references.
    imported = tmp_path / "imported"
    fl.write_config(imported)
    (imported / "projects" / "main.yml").unlink()
    (imported / "projects" / "side.yml").unlink()
    result = fl.run_cli(dss, imported, "import", "project", "FAULT", "-e", "dev", "--output", str(imported), env={**env, **rotated})
    outputs.append(result)
    assert result.returncode in (0, 1), str(result)
    assert (imported / "projects").is_dir()

    leaks = {f"{' '.join(r.args)} (stdout/stderr)": _hits(r.output) for r in outputs if _hits(r.output)}
    for tree in (root, imported):
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                found = _hits(path.read_bytes().decode("utf-8", "replace"))
                if found:
                    leaks[str(path.relative_to(tmp_path))] = found
    scanned = [p for tree in (root, imported) for p in tree.rglob("*") if p.is_file()]
    assert any(p.name == "saved-plan.json" for p in scanned) and any("history" in str(p) for p in scanned)
    return {"leaks": len(leaks), "where": leaks, "scanned": len(scanned) + len(outputs), "commands": len(outputs)}


def test_secrets_never_leak(seeded: Any, tmp_path: Path) -> None:
    record = canary_run(seeded, tmp_path)
    assert record["leaks"] == 0, f"secret canaries found: {record['where']}"


@pytest.mark.slow
def test_secret_canary_report(seeded: Any, tmp_path: Path, fault_report: fl.Report) -> None:
    started = time.monotonic()
    record = canary_run(seeded, tmp_path)
    fault_report.add("secret-canary", record)
    fault_report.timed("secret-canary", time.monotonic() - started)
    assert record["leaks"] == 0, f"secret canaries found: {record['where']}"
