"""Build dist/dataiku-iac-plugin-<version>.zip, laid out as DSS installs a plugin.

plugin.json at the root of the archive, then the component folders DSS reads (python-lib/,
python-runnables/, python-steps/, python-project-standards-check-specs/, custom-recipes/, webapps/, parameter-sets/, code-env/,
resource/). Tests, caches and build leftovers are never included. The archive is
reproducible: entries sorted, fixed timestamps. `make plugin` runs this.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPONENT_DIRS = (
    "python-lib",
    "python-runnables",
    "python-steps",
    "python-project-standards-check-specs",
    "custom-recipes",
    "webapps",
    "parameter-sets",
    "code-env",
    "resource",
)
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".egg-info", ".orig", ".rej", "~")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def plugin_descriptor(root: Path = ROOT) -> dict:
    data = json.loads((root / "plugin.json").read_text(encoding="utf-8"))  # strict JSON or fail here
    for key in ("id", "version", "meta"):
        if key not in data:
            raise SystemExit(f"plugin.json: missing {key!r}")
    return data


def included(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    if any(part in EXCLUDED_PARTS or part.endswith(".egg-info") or part.startswith(".") for part in rel.parts):
        return False
    return path.is_file() and not path.name.endswith(EXCLUDED_SUFFIXES)


def files_to_pack(root: Path = ROOT) -> list:
    files = [root / "plugin.json"]
    for folder in COMPONENT_DIRS:
        base = root / folder
        if base.is_dir():
            files.extend(p for p in base.rglob("*") if included(p, root))
    return sorted(set(files), key=lambda p: p.relative_to(root).as_posix())


def build(root: Path = ROOT, out_dir: Path | None = None) -> Path:
    desc = plugin_descriptor(root)
    out_dir = out_dir or root / "dist"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{desc['id']}-plugin-{desc['version']}.zip"
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files_to_pack(root):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    tmp.replace(target)
    return target


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=None, help="default: dist/")
    args = parser.parse_args(argv)
    target = build(ROOT, args.out_dir)
    with zipfile.ZipFile(target) as archive:
        count = len(archive.namelist())
    print(f"Built {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target} ({count} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
