"""Writes the shell scripts of the CI templates in ci/ to a directory, one file each, for
shellcheck (`make lint-ci`, scripts/lint_ci_templates.sh): the GitHub workflow's `run:` steps,
the GitLab jobs' `before_script`/`script` lists, the Azure steps' `script:` and the Jenkinsfile's
`sh '''…'''` blocks. The CI system's own substitutions are replaced by shell variables first, so
that shellcheck reads what the shell will run: GitHub `${{ … }}` and Azure `$(Name.Of.Macro)`.

    python scripts/ci_template_scripts.py OUT_DIR [TEMPLATE...]   (default: the four templates)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Iterator

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = [ROOT / "ci/github/dataiku-iac.yml", ROOT / "ci/gitlab/.gitlab-ci.yml",
             ROOT / "ci/jenkins/Jenkinsfile", ROOT / "ci/azure/azure-pipelines.yml"]


def _placeholders(script: str) -> str:
    script = re.sub(r"\$\{\{.*?\}\}", "${GHA_EXPRESSION}", script)
    return re.sub(r"\$\(([A-Za-z_][\w.]*)\)", lambda m: "${AZP_" + re.sub(r"\W", "_", m.group(1)).upper() + "}", script)


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key), value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def scripts_of(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.name.startswith("Jenkinsfile"):
        return re.findall(r"sh '''(.*?)'''", text, flags=re.S)
    found = []
    for key, value in _walk(yaml.safe_load(text)):
        # `run:` of `defaults:` is a mapping ({shell: bash}), not a script
        if key in ("run", "script", "before_script", "after_script") and isinstance(value, (str, list)) and value:
            found.append("\n".join(value) if isinstance(value, list) else value)
    return found


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for template in [Path(a) for a in argv[1:]] or TEMPLATES:
        for number, script in enumerate(scripts_of(template), 1):
            name = f"{template.parent.name}-{template.name.lstrip('.')}-{number}.sh"
            (out / name).write_text("#!/usr/bin/env bash\n" + _placeholders(script) + "\n", encoding="utf-8")
            written += 1
    print(f"{written} scripts written to {out}")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
