"""Python project files inside DSS: refused unless a DSS administrator allows them.

A `projects/NAME.py` is code the loader runs (config/pyconfig.py). Inside DSS it would run in the
macro's, step's or console's process, as the user running it under User Isolation, as DSS's own
Unix user without it; whoever can write the configuration (a project library, a Git branch)
would choose that code. So the plugin runs such files only when an administrator ticks *Run
Python project files* in the plugin's settings (plugin.json `allow_python_configs`, which only
administrators can edit); otherwise a configuration holding one is refused, before anything of
it is loaded, naming the files (docs/security.md, "Python project files").

The components say what the setting is for their run with `allowing(plugin_config)`; every
session over a materialized configuration calls `check(root)`. The default is no.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from dataiku_iac.config.pyconfig import python_config_files
from dataiku_iac.errors import IacError

SETTING = "allow_python_configs"
REFUSED = (
    "Python project files do not run inside DSS unless a DSS administrator allows them "
    "(Administration > Plugins > dataiku-iac > Settings > Run Python project files; docs/security.md)"
)

_allowed: ContextVar[bool] = ContextVar("dataiku_iac_python_configs", default=False)


def allowed_by(plugin_config: Optional[Mapping[str, Any]]) -> bool:
    """The administrators' plugin setting. Fails closed: anything but a true value means no."""
    return (plugin_config or {}).get(SETTING) is True


@contextlib.contextmanager
def allowing(plugin_config: Optional[Mapping[str, Any]]) -> Iterator[None]:
    """Within the block, the plugin setting of `plugin_config` decides."""
    token = _allowed.set(allowed_by(plugin_config))
    try:
        yield
    finally:
        _allowed.reset(token)


def check(root: Path) -> None:
    """Refuse the configuration at `root` if it holds Python project files and they are not allowed."""
    found = python_config_files(root)
    if found and not _allowed.get():
        raise IacError(f"{REFUSED}. The configuration holds {', '.join(found)}.")
