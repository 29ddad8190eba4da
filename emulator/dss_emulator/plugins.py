"""Registered plugin directories: their macros (python-runnables) and scenario steps (python-steps)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import errors


def _read_json(path: Path) -> Dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise errors.DSSError(500, errors.ILLEGAL_STATE, f"Cannot read {path}: {exc}") from None


def plugins(plugin_dirs: List[str]) -> Iterator[Tuple[Path, Dict[str, Any]]]:
    for d in plugin_dirs:
        root = Path(d)
        if (root / "plugin.json").is_file():
            yield root, _read_json(root / "plugin.json")


def plugin_config_defaults(desc: Dict[str, Any]) -> Dict[str, Any]:
    """Plugin-level params (plugin.json "params") with their default values."""
    return {p["name"]: p.get("defaultValue") for p in desc.get("params") or [] if "name" in p}


def plugin_config(desc: Dict[str, Any], settings: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """What the plugin's code gets as its plugin config: the defaults of plugin.json's params,
    overlaid with the values an administrator saved in the plugin's settings."""
    saved = (settings or {}).get("config")
    return {**plugin_config_defaults(desc), **(saved if isinstance(saved, dict) else {})}


def find_plugin(plugin_dirs: List[str], plugin_id: str) -> Dict[str, Any]:
    for _root, desc in plugins(plugin_dirs):
        if desc.get("id") == plugin_id:
            return desc
    raise errors.not_found(f"Plugin {plugin_id} does not exist")


def runnables(plugin_dirs: List[str]) -> Iterator[Dict[str, Any]]:
    for root, desc in plugins(plugin_dirs):
        base = root / "python-runnables"
        if not base.is_dir():
            continue
        for rdir in sorted(p for p in base.iterdir() if (p / "runnable.json").is_file()):
            spec = _read_json(rdir / "runnable.json")
            yield {
                "runnableType": "pyrunnable_{}_{}".format(desc["id"], rdir.name),
                "ownerPluginId": desc["id"],
                "id": rdir.name,
                "dir": rdir,
                "plugin_root": root,
                "plugin": desc,
                "spec": spec,
            }


def find_runnable(plugin_dirs: List[str], runnable_type: str) -> Dict[str, Any]:
    for item in runnables(plugin_dirs):
        if item["runnableType"] == runnable_type:
            return item
    raise errors.not_found(f"Macro {runnable_type} does not exist")


def find_step(plugin_dirs: List[str], step_type: str) -> Tuple[Path, Dict[str, Any]]:
    """'pystep_<pluginId>_<stepId>' -> (step dir, plugin info)."""
    for root, desc in plugins(plugin_dirs):
        prefix = "pystep_{}_".format(desc["id"])
        if step_type.startswith(prefix):
            step_dir = root / "python-steps" / step_type[len(prefix) :]
            if (step_dir / "step.py").is_file():
                return step_dir, {"root": root, "desc": desc}
    raise errors.not_found(f"Plugin step {step_type} does not exist")


def list_plugins(plugin_dirs: List[str]) -> List[Dict[str, Any]]:
    out = []
    for root, desc in plugins(plugin_dirs):
        out.append(
            {
                "id": desc["id"],
                "version": desc.get("version"),
                "meta": desc.get("meta", {}),
                "isDev": True,
                "installedFrom": str(root),
                "components": {
                    "runnables": sorted(p.name for p in (root / "python-runnables").glob("*") if p.is_dir()),
                    "steps": sorted(p.name for p in (root / "python-steps").glob("*") if p.is_dir()),
                    "recipes": sorted(p.name for p in (root / "custom-recipes").glob("*") if p.is_dir()),
                    "webapps": sorted(p.name for p in (root / "webapps").glob("*") if p.is_dir()),
                },
            }
        )
    return out
