"""Issue 10, security 4: secret fingerprints cannot be guessed offline from plans.

A secret project variable (`{secret_env: NAME}`) is shown in plans and recorded in the state as a
fingerprint. Until this change it was an HMAC under a key published in the source, so a word
list recovered a weak secret from `plan --json`. Now it is scrypt under a random key of the
state's lineage (docs/security.md, "Secret fingerprints"). These tests run the CLI against the
emulator:

- the word-list attack on `plan --json` (it recovers the secret on the code before this change,
  and recovers nothing after; with the state's key it works, at scrypt's price);
- the key stays the lineage's across apply, destroy, apply, rollback, state mv/pull/push and on
  every backend; unchanged secrets are no change, run after run;
- a saved plan is stale when a secret it writes or keeps changed value in between;
- a state written by an older version (format 1, unkeyed fingerprints) is read without a false
  change, and the next apply re-keys it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from dataiku_iac.secrets import Fingerprinter, legacy_fingerprint

from tests.e2e.helpers import cli_env, run_cli, state_dir, write_config
from tests.s3_server import BUCKET, CREDENTIALS
from tests.support.emulator import ensure_state_folder

ENV_NAME = "IAC_SECRET_TOKEN"
SECRET = "sunshine2024"  # a weak secret: it is in every word list
WORDS = [
    "123456", "password", "qwerty", "letmein", "dragon", "monkey", "iloveyou", "admin", "welcome",
    "football", "princess", "sunshine", "sunshine1", "sunshine2023", SECRET, "trustno1", "master",
    "shadow", "passw0rd", "hello123",
]
PROJECT = """\
project:
  key: {key}
  name: Secrets
  description: {description}
  variables:
    local:
      token: {{secret_env: IAC_SECRET_TOKEN}}
      plain: 1
"""
# The key dataiku-iac <= 0.1 published in builder.py, as an attacker reads it from the source.
PUBLISHED_KEY = b"dataiku-iac/secret-fingerprint/v1"


def _config(root: Path, key: str = "SECRETS", description: str = "one", iac: Optional[str] = None) -> Path:
    return write_config(root, {"secrets.yml": PROJECT.format(key=key, description=description)}, iac=iac)


def _env(dss: Any, secret: str = SECRET, **extra: str) -> dict:
    return cli_env(dss, **{ENV_NAME: secret}, **extra)


def _fingerprints(document: Any) -> Iterator[str]:
    """Every fingerprint in a JSON document (a plan, a state)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "fingerprint" and isinstance(value, str):
                yield value
            else:
                yield from _fingerprints(value)
    elif isinstance(document, list):
        for value in document:
            yield from _fingerprints(value)


def _offline_guesses(word: str, plan: dict) -> set[str]:
    """What someone holding only the plan can compute for a guess: the published HMAC, plain
    hashes, and the new construction under every key the plan could give away."""
    data = word.encode()
    digest = hmac.new(PUBLISHED_KEY, data, hashlib.sha256).hexdigest()
    guesses = {f"hmac-sha256:{digest[:32]}", f"hmac-sha256:{digest}", f"sha256:{hashlib.sha256(data).hexdigest()}"}
    for public in (plan["state"]["lineage"].replace("-", "") * 2, "0" * 64):
        guesses.add(Fingerprinter(public[:64])(word))
    return guesses


def _recover(plan: dict, guesses: Any) -> Optional[str]:
    shown = set(_fingerprints(plan))
    return next((word for word in WORDS if guesses(word) & shown), None)


def _state(root: Path) -> dict:
    return json.loads((state_dir(root) / "state.json").read_text())


def _dss_token(dss: Any, key: str = "SECRETS") -> Any:
    return dss.client().get_project(key).get_variables()["local"]["token"]


def test_a_word_list_recovers_nothing_from_plan_json(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg")
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=_env(dss))
    plan = run_cli(dss, root, "plan", "-e", "dev", "--json", env=_env(dss)).json()
    shown = list(_fingerprints(plan))
    assert shown, "the plan shows the secret's fingerprint (what the attack works on)"
    assert SECRET not in json.dumps(plan)

    assert _recover(plan, lambda word: _offline_guesses(word, plan)) is None, "recovered offline from plan --json"

    # Whoever holds the state holds the key: the same attack then works, at one scrypt per guess.
    key = _state(root)["fingerprint_key"]
    assert key not in json.dumps(plan)
    assert _recover(plan, lambda word: {Fingerprinter(key)(word)}) == SECRET

    # The same secret in another state (another lineage, another key) has another fingerprint.
    other = _config(tmp_path / "other", key="OTHER")
    other_plan = run_cli(dss, other, "plan", "-e", "dev", "--json", env=_env(dss)).json()
    assert set(_fingerprints(other_plan)).isdisjoint(shown)


def test_an_unchanged_secret_is_no_change_run_after_run(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg")
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=_env(dss))
    for _ in range(2):  # each run is a new process: the key comes from the state
        run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=_env(dss), expect=0)
        run_cli(dss, root, "drift", "-e", "dev", env=_env(dss), expect=0)
    rotated = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=_env(dss, "rotated-9f1c"), expect=2)
    assert "variables.local.token" in rotated.stdout and "rotated-9f1c" not in rotated.output


def test_a_saved_plan_is_stale_when_a_secret_changed_since(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg")
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=_env(dss, "first-0a1b"))

    # The plan writes the rotated secret; the environment then holds yet another value.
    run_cli(dss, root, "plan", "-e", "dev", "--out", "rotate.json", env=_env(dss, "second-2c3d"))
    refused = run_cli(dss, root, "apply", "-e", "dev", "rotate.json", env=_env(dss, "third-4e5f"), expect=1)
    assert "saved plan is stale" in refused.output and "variables.local.token" in refused.output
    assert f"${ENV_NAME}" in refused.output
    assert refused.stderr.rstrip().endswith("`dataiku-iac plan -e dev --out FILE` and apply that file"), str(refused)
    assert not any(v in refused.output for v in ("first-0a1b", "second-2c3d", "third-4e5f"))
    assert _dss_token(dss) == "first-0a1b", "nothing was written"
    run_cli(dss, root, "apply", "-e", "dev", "rotate.json", env=_env(dss, "second-2c3d"))
    assert _dss_token(dss) == "second-2c3d"

    # A plan that keeps the secret (it changes something else) is bound to its value too.
    _config(root, description="two")
    run_cli(dss, root, "plan", "-e", "dev", "--out", "describe.json", env=_env(dss, "second-2c3d"))
    refused = run_cli(dss, root, "apply", "-e", "dev", "describe.json", env=_env(dss, "third-4e5f"), expect=1)
    assert "saved plan is stale" in refused.output and "variables.local.token" in refused.output
    run_cli(dss, root, "apply", "-e", "dev", "describe.json", env=_env(dss, "second-2c3d"))
    run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=_env(dss, "second-2c3d"), expect=0)


def _keys_in_history(root: Path) -> set:
    return {json.loads(p.read_text()).get("fingerprint_key") for p in (state_dir(root) / "history").glob("*.json")}


def test_the_key_is_the_lineages_through_its_whole_life(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg")
    env = _env(dss)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    first = _state(root)
    key, lineage = first["fingerprint_key"], first["lineage"]

    run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve", env=env)
    assert _state(root)["resources"] == {} and _state(root)["fingerprint_key"] == key
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=0)

    _config(root, description="two")
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    serial = _state(root)["serial"]
    run_cli(dss, root, "state", "rollback", str(serial - 1), "-e", "dev", "--auto-approve", env=env)
    assert dss.client().get_project("SECRETS").get_metadata()["description"] == "one"
    _config(root)  # the configuration back where the rollback went

    run_cli(dss, root, "state", "mv", "project.SECRETS", "project.MOVED", "-e", "dev", env=env)
    run_cli(dss, root, "state", "mv", "project.MOVED", "project.SECRETS", "-e", "dev", env=env)
    pulled = run_cli(dss, root, "state", "pull", "-e", "dev", env=env).stdout
    assert json.loads(pulled)["fingerprint_key"] == key
    shown = run_cli(dss, root, "state", "show", "-e", "dev", env=env).stdout
    assert key not in shown, "state show does not print the key (state pull does: it is the backup)"

    # A backup pushed into a fresh store brings its lineage and key: no false change there.
    copy = _config(tmp_path / "copy")
    (copy / "backup.json").write_text(pulled)
    run_cli(dss, copy, "state", "push", "backup.json", "-e", "dev", env=env)
    assert (_state(copy)["lineage"], _state(copy)["fingerprint_key"]) == (lineage, key)
    run_cli(dss, copy, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=0)
    run_cli(dss, copy, "drift", "-e", "dev", env=env, expect=0)

    assert (_state(root)["lineage"], _state(root)["fingerprint_key"]) == (lineage, key)
    assert _keys_in_history(root) == {key}
    run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=0)


def test_a_state_of_another_key_pushed_over_the_lineage_loses_only_its_fingerprints(dss: Any, tmp_path: Path) -> None:
    """`state push --force` of another state's content: its fingerprints compare with nothing
    under this lineage's key, so they become unknown (no drift), and the next apply records them."""
    root = _config(tmp_path / "cfg")
    env = _env(dss)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    key = _state(root)["fingerprint_key"]
    theirs = run_cli(dss, root, "state", "pull", "-e", "dev", env=env).json()
    other_key = "5e" * 32
    theirs.update(lineage=str(uuid.uuid4()), fingerprint_key=other_key)
    theirs["resources"]["project.SECRETS"]["attributes"]["variables"]["local"]["token"]["fingerprint"] = Fingerprinter(other_key)(SECRET)
    (root / "theirs.json").write_text(json.dumps(theirs))
    pushed = run_cli(dss, root, "state", "push", "theirs.json", "--force", "-e", "dev", env=env)
    assert "made under another state's key" in pushed.stdout
    assert _state(root)["fingerprint_key"] == key
    assert list(_fingerprints(_state(root))) == []
    run_cli(dss, root, "drift", "-e", "dev", env=env, expect=0)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert list(_fingerprints(_state(root))) == [Fingerprinter(key)(SECRET)], "recorded by the next apply"
    run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=0)


# -- backends -----------------------------------------------------------------------------------

STATE_PROJECT, STATE_FOLDER = "IAC_STATE", "iac_state"


def _backend_iac(dss: Any, backend: str, s3_url: str) -> str:
    if backend == "local":
        return "version: 1\n"
    if backend == "managed_folder":
        ensure_state_folder(dss, STATE_PROJECT, STATE_FOLDER)
        return f"version: 1\nstate: {{backend: managed_folder, project_key: {STATE_PROJECT}, folder: {STATE_FOLDER}}}\n"
    prefix = f"fingerprints-{uuid.uuid4().hex}"
    return f"version: 1\nstate: {{backend: s3, bucket: {BUCKET}, key_prefix: {prefix}, endpoint_url: '{s3_url}'}}\n"


@pytest.mark.parametrize("backend", ["local", "managed_folder", "s3"])
def test_every_backend_keeps_the_key(dss: Any, tmp_path: Path, backend: str, s3_server: Any) -> None:
    root = _config(tmp_path / "cfg", iac=_backend_iac(dss, backend, s3_server.url))
    env = _env(dss, **CREDENTIALS)

    def pulled() -> dict:
        return run_cli(dss, root, "state", "pull", "-e", "dev", env=env).json()

    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    key = pulled()["fingerprint_key"]
    run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=0)
    run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve", env=env)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert pulled()["fingerprint_key"] == key and list(_fingerprints(pulled())) == [Fingerprinter(key)(SECRET)]
    run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=0)


# -- a state written by dataiku-iac <= 0.1 --------------------------------------------------------


def _downgrade(root: Path, legacy_value: str) -> None:
    """Rewrite every kept serial as the previous version wrote it: format 1, no key, the token's
    fingerprint unkeyed (HMAC under the published key), `secret_fingerprints: {}`."""
    directory = state_dir(root)
    for path in [directory / "state.json", *sorted((directory / "history").glob("*.json"))]:
        data = json.loads(path.read_text())
        data.pop("fingerprint_key")
        data["format_version"] = 1
        for body in data["resources"].values():
            body["secret_fingerprints"] = {}
            token = (body["attributes"].get("variables") or {}).get("local", {}).get("token")
            if token is not None:
                token["fingerprint"] = legacy_fingerprint(legacy_value)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def test_an_old_state_is_read_without_a_false_change_and_re_keyed_by_the_next_apply(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg")
    env = _env(dss)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    _downgrade(root, SECRET)
    serial = _state(root)["serial"]

    plan = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=0)
    assert "older dataiku-iac" in plan.output
    run_cli(dss, root, "drift", "-e", "dev", env=env, expect=0)
    assert _state(root)["serial"] == serial and "fingerprint_key" not in _state(root), "plan and drift write nothing"

    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert "No changes" in applied.stdout
    state = _state(root)
    assert state["serial"] == serial + 1 and state["operation"] == "re-key secret fingerprints"
    assert state["format_version"] == 2 and list(_fingerprints(state)) == [Fingerprinter(state["fingerprint_key"])(SECRET)]
    assert "hmac-sha256" not in (state_dir(root) / "state.json").read_text()
    again = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=0)
    assert "older dataiku-iac" not in again.output


def test_an_old_fingerprint_of_a_value_no_longer_at_hand_is_unknown_not_a_change(dss: Any, tmp_path: Path) -> None:
    """The recorded value was neither the environment's nor DSS's: nothing can tell what it was,
    so it is not compared (no false drift) and the next apply records the value DSS holds."""
    root = _config(tmp_path / "cfg")
    env = _env(dss)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    _downgrade(root, "a-value-long-gone")
    plan = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=0)
    assert re.search(r"1 of them match no value at hand", plan.output)
    run_cli(dss, root, "drift", "-e", "dev", env=env, expect=0)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    state = _state(root)
    assert list(_fingerprints(state)) == [Fingerprinter(state["fingerprint_key"])(SECRET)]
