"""Python recipes: the recipe's code (its payload) runs in a subprocess with the emulator's
`dataiku` stand-in (stand_in/dataiku), which reads and writes the datasets' rows over HTTP.

The subprocess is ``sys.executable`` (the emulator's own interpreter: the recipe's code env is not
emulated) with ``PYTHONPATH`` = the stand-in directory, ``DKU_DSS_URL`` (the emulator),
``DKU_API_KEY`` (an internal ticket acting as the job's initiator, removed after the run) and
``DKU_CURRENT_PROJECT_KEY``. A non-zero exit fails the activity with the output's last lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

from . import defaults
from .app import App

STAND_IN = Path(__file__).resolve().parent / "stand_in"


class PythonRecipeFailed(Exception):
    """The recipe's code failed (its output in the message)."""


def _ticket(app: App, login: str) -> str:
    """An internal ticket acting as the job's initiator, like the one DSS gives to recipe code."""
    key = "ticket-" + defaults.random_id(24)
    with app.store.lock:
        user = app.store.users.get(login) or {}
        groups = list(user.get("groups") or [])
        admin = any(app.store.groups.get(g, {}).get("admin") for g in groups)
        app.store.tickets[key] = {
            "key": key,
            "id": key[-16:],
            "login": login,
            "admin": admin,
            "groups": groups,
        }
    return key


def run(app: App, project_key: str, code: str, login: str) -> List[str]:
    """Run the recipe's code; returns its output lines (for the job log)."""
    if not app.plugin_code.public_url:
        raise PythonRecipeFailed("The emulator does not know its own URL: it cannot run Python recipes")
    ticket = _ticket(app, login)
    env: Dict[str, Any] = {k: v for k, v in os.environ.items() if not k.startswith("DKU_")}
    env.update(
        PYTHONPATH=str(STAND_IN),
        DKU_DSS_URL=app.plugin_code.public_url,
        DKU_API_KEY=ticket,
        DKU_CURRENT_PROJECT_KEY=project_key,
        PYTHONDONTWRITEBYTECODE="1",
    )
    try:
        with tempfile.TemporaryDirectory(prefix="dss-emulator-recipe-") as tmp:
            script = Path(tmp) / "recipe.py"
            script.write_text(code, encoding="utf-8")
            try:
                done = subprocess.run(
                    [sys.executable, str(script)],
                    env=env,
                    cwd=tmp,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    timeout=app.plugin_code.timeout,
                )
            except subprocess.TimeoutExpired:
                raise PythonRecipeFailed(
                    f"The recipe's code timed out after {app.plugin_code.timeout}s"
                ) from None
    finally:
        with app.store.lock:
            app.store.tickets.pop(ticket, None)
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if done.returncode != 0:
        tail = "\n".join(lines[-20:])
        raise PythonRecipeFailed(f"The recipe's code exited with status {done.returncode}:\n{tail}")
    return lines
