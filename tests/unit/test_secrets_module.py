"""Secret handling lives in one module, dataiku_iac/secrets.py (issue 11: it was spread over
state/fingerprints.py, engine/secrets.py and secret_sources.py): the sources of values, the
fingerprint scheme, the references in attributes and their uses along the pipeline. It sits
below the engine and the state, which both use it (tests/unit/test_layers.py has no cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

from dataiku_iac import secrets

PACKAGE = Path(secrets.__file__).resolve().parent

NAMES = ("SecretSource", "EnvironmentSecrets", "KnownValuesFirst", "secret_source", "Fingerprinter", "new_key",
         "key_id", "legacy_fingerprint", "secret_refs", "secret_ref_problem", "fingerprinter_of", "fingerprint_desired",
         "assume_recorded", "migrate_legacy", "settle_unknown", "stale_secrets", "forget_fingerprints")


def test_every_piece_of_secret_handling_is_in_the_one_module():
    missing = [n for n in NAMES if not hasattr(secrets, n)]
    assert not missing
    elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "secrets.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        elsewhere += [f"{path.relative_to(PACKAGE)}: {n}" for n in sorted(defined & set(NAMES))]
        if "scrypt" in path.read_text(encoding="utf-8"):
            elsewhere.append(f"{path.relative_to(PACKAGE)}: scrypt")
    assert elsewhere == []


def test_it_sits_below_the_engine_and_the_state():
    tree = ast.parse(Path(secrets.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    upward = sorted(m for m in imported if m.split(".")[:2] in (["dataiku_iac", "engine"], ["dataiku_iac", "state"]))
    assert upward == []
