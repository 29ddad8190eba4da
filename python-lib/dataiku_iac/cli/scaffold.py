"""`dataiku-iac init`: a config skeleton that validates as soon as a project is added."""

from __future__ import annotations

from pathlib import Path

from dataiku_iac import defaults

IAC_YML = f"""\
# dataiku-iac settings shared by every environment (docs/config-reference.md).
version: 1
defaults:
  dataset:
    connection: {defaults.DATASET_CONNECTION}
  managed_folder:
    connection: {defaults.FOLDER_CONNECTION}
state:
  backend: {defaults.STATE_BACKEND}            # state kept under {defaults.LOCAL_STATE_PATH}/<env>/ (keep it out of Git)
  path: {defaults.LOCAL_STATE_PATH}
"""

DEV_YML = f"""\
# Environment "dev". DSS is reached at $DKU_DSS_URL, or at dss.url when DKU_DSS_URL is unset (when
# both are set they must agree); the API key always comes from an environment variable, never
# from this file.
dss:
  api_key_env: {defaults.API_KEY_ENV}
variables: {{}}
connections: {{}}             # remap connection names: {{name in config: name in this DSS}}
code_envs: {{}}               # remap code env names the same way
"""

GITIGNORE = """\
# dataiku-iac local state and saved plans (`plan --out NAME.plan`)
.dataiku-iac/
*.plan
*.tfplan.json
"""

FILES = {
    "iac.yml": IAC_YML,
    "environments/dev.yml": DEV_YML,
    ".gitignore": GITIGNORE,
}


def init(root: Path) -> list[str]:
    """Create missing skeleton files under `root`; never overwrite existing ones."""
    created = []
    root.mkdir(parents=True, exist_ok=True)
    (root / "projects").mkdir(exist_ok=True)
    for rel, content in FILES.items():
        path = root / rel
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        created.append(rel)
    if not created:
        created.append("(nothing: the configuration already exists)")
    return created
