"""`dataiku-iac modules get|update|search|show`: the lock file of module sources and the
registries' indexes (docs/modules.md). No DSS is contacted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import click

from dataiku_iac.cli.main import Context, cli, handle_errors, json_option
from dataiku_iac.errors import IacError, printable
from dataiku_iac.modules.install import LockReport, lock_modules
from dataiku_iac.modules.lock import LOCK_FILE, LockEntry
from dataiku_iac.modules.registry import IndexEntry, ModuleInfo, open_registry, registry_names, yaml_mapping
from dataiku_iac.modules.sources import is_local
from dataiku_iac.sources.common import SourceError

offline_option = click.option("--offline", is_flag=True, help="Use only the module cache: never contact a Git server.")


@cli.group()
def modules() -> None:
    """Module sources: fetch and lock them (iac.lock.yml), browse registries."""


@modules.command("get")
@offline_option
@json_option
@click.pass_obj
@handle_errors()
def get(obj: Context, offline: bool, as_json: bool) -> None:
    """Fetch every module the projects call, honouring iac.lock.yml; lock the new ones."""
    _lock(obj, None, offline, as_json)


@modules.command("update")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@offline_option
@json_option
@click.pass_obj
@handle_errors()
def update(obj: Context, names: tuple, offline: bool, as_json: bool) -> None:
    """Resolve the named module calls (all without NAME) anew and rewrite their lock entries."""
    _lock(obj, names, offline, as_json)


def _lock(obj: Context, names: Optional[tuple], offline: bool, as_json: bool) -> None:
    report = lock_modules(obj.root, update=names, offline=offline)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    click.echo(render_lock_report(report), nl=False)


def render_lock_report(report: LockReport) -> str:
    lines = []
    for call, found in report.calls:
        pin = found.version or (found.commit[:12] if found.commit else "")
        where = f"{call.file}:{call.line}"
        lines.append(f"  {call.name}: {call.source}{_constraint(call.version)} -> {found.kind} {pin}".rstrip()
                     + f"  ({where})")
    for entry in report.added:
        lines.append(f"+ locked {_label(entry)}")
    for before, after in report.updated:
        lines.append(f"~ updated {_label(after)} (was {_pin(before)})")
    for entry in report.dropped:
        lines.append(f"- dropped {entry.source}{_constraint(entry.version)} (no call uses it)")
    if not report.calls:
        lines.append("No module calls in projects/.")
    lines.append(f"{LOCK_FILE} written." if report.written else f"{LOCK_FILE} is up to date.")
    return printable("\n".join(lines), keep_newlines=True) + "\n"


def _constraint(version: Optional[str]) -> str:
    return f' (version "{version}")' if version else ""


def _pin(entry: LockEntry) -> str:
    parts = [p for p in (entry.resolved, entry.commit[:12] if entry.commit else None) if p]
    return " ".join(parts) or entry.content_hash


def _label(entry: LockEntry) -> str:
    return f"{entry.source}{_constraint(entry.version)} at {_pin(entry)} {entry.content_hash}"


@modules.command("search")
@click.argument("words", nargs=-1, metavar="[TEXT]...")
@click.option("--registry", "registries", multiple=True, metavar="NAME", help="Search this registry only (repeatable; default: std and every registry of iac.yml).")
@offline_option
@json_option
@click.pass_obj
@handle_errors()
def search(obj: Context, words: tuple[str, ...], registries: tuple, offline: bool, as_json: bool) -> None:
    """List the registries' modules whose name, description or keywords hold every word of TEXT."""
    text = " ".join(words)  # `search sql schedule` as `search "sql schedule"`
    found: list[ModuleInfo] = []
    for name in registries or registry_names(obj.root):
        view = _open(obj, name, offline)
        found += [i for i in (view.info(e.name) for e in view.index.search(text)) if i is not None]
    if as_json:
        click.echo(json.dumps({"modules": [_info_json(i) for i in found]}, indent=2))
        return
    if not found:
        click.echo("No module matches." if text else "No modules.")
        return
    width = max(len(i.source) for i in found)
    for info in found:
        version = info.versions[0] if info.versions else "-"
        click.echo(printable(f"{info.source.ljust(width)}  {version:<8}  {info.entry.description}".rstrip()))


@modules.command("show")
@click.argument("name", metavar="[REGISTRY/]NAME|./PATH")
@offline_option
@json_option
@click.pass_obj
@handle_errors()
def show(obj: Context, name: str, offline: bool, as_json: bool) -> None:
    """Show a module: description, versions, inputs and outputs (NAME alone: the one registry that has it; ./PATH: a local module)."""
    if is_local(name):
        info = _local_module(obj, name)
    else:
        info = _registry_module(obj, name, offline)
    if as_json:
        click.echo(json.dumps(_info_json(info, full=True), indent=2))
        return
    click.echo(printable(render_module(info), keep_newlines=True), nl=False)


def _local_module(obj: Context, name: str) -> ModuleInfo:
    """The module in the directory `name` (./ or ../, relative to the configuration's root)."""
    directory = Path(obj.root) / name
    file = directory / "module.yml"
    try:
        raw = file.read_bytes()
    except OSError:
        raise IacError(f"no module at '{name}': {file} cannot be read (a local module is a directory with a module.yml)") from None
    definition = yaml_mapping(raw, f"{name.rstrip('/')}/module.yml")
    parent, _, base = name.rstrip("/").rpartition("/")
    version = definition.get("version")
    return ModuleInfo(parent or ".", IndexEntry(base, name, str(definition.get("description") or "")),
                      [str(version)] if isinstance(version, (str, int, float)) else [], definition,
                      (directory / "README.md").is_file())


def _registry_module(obj: Context, name: str, offline: bool) -> ModuleInfo:
    registry, slash, module = name.rpartition("/")
    if slash and (not registry or not module or "/" in registry):
        raise IacError(f"'{name}' is not REGISTRY/NAME or NAME (e.g. std/ingest_sql)")
    if not slash:
        registry = _only_registry_with(obj, module, offline)
    info = _open(obj, registry, offline).info(module, with_definition=True)
    if info is None:
        raise IacError(f"registry '{registry}' has no module '{module}' (try `dataiku-iac modules search`)")
    return info


def _only_registry_with(obj: Context, module: str, offline: bool) -> str:
    """The registry holding `module`, when exactly one of std and iac.yml's registries does."""
    holders = [name for name in registry_names(obj.root) if module in _open(obj, name, offline).index.modules]
    if len(holders) == 1:
        return holders[0]
    if not holders:
        raise IacError(f"no registry has a module '{module}' (registries: {', '.join(registry_names(obj.root))}; "
                       "try `dataiku-iac modules search`)")
    raise IacError(f"several registries have a module '{module}': name one ({', '.join(f'{h}/{module}' for h in holders)})")


def _open(obj: Context, name: str, offline: bool) -> Any:
    """The registry `name`; what is wrong in its index is said on stderr (the rest is listed)."""
    try:
        view = open_registry(obj.root, name, offline=offline)
        for problem in view.index.problems:
            click.echo(problem.render(), err=True)
        return view
    except KeyError:
        known = ", ".join(registry_names(obj.root))
        raise IacError(f"no module registry named '{name}' (registries: {known}; add one to iac.yml module_registries)") from None
    except SourceError as exc:
        raise IacError(f"registry '{name}': {exc}") from None


# The JSON-Schema checks an input may declare (docs/modules.md, "inputs"), shown with it.
_INPUT_CHECKS = ("enum", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                 "minLength", "maxLength", "minItems", "maxItems", "items")


def _inputs(info: ModuleInfo) -> list[dict[str, Any]]:
    definition = info.definition or {}
    inputs = definition.get("inputs") if isinstance(definition.get("inputs"), dict) else {}
    rows = []
    for name, spec in (inputs or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        sensitive = bool(spec.get("sensitive"))
        row: dict[str, Any] = {"name": name, "type": spec.get("type", "any"), "required": "default" not in spec,
                               "description": spec.get("description", ""), "sensitive": sensitive}
        if "default" in spec and not sensitive:  # a sensitive input's default is never shown
            row["default"] = spec["default"]
        checks = {k: v for k, v in spec.items() if k in _INPUT_CHECKS}
        if checks:
            row["checks"] = checks
        rows.append(row)
    return rows


def _outputs(info: ModuleInfo) -> list[dict[str, Any]]:
    definition = info.definition or {}
    outputs = definition.get("outputs") if isinstance(definition.get("outputs"), dict) else {}
    rows = []
    for name, spec in (outputs or {}).items():
        value = spec.get("value") if isinstance(spec, dict) else spec
        description = spec.get("description", "") if isinstance(spec, dict) else ""
        rows.append({"name": name, "value": value, "description": description})
    return rows


def _info_json(info: ModuleInfo, full: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"source": info.source, "registry": info.registry, "name": info.entry.name,
                            "description": info.entry.description, "keywords": list(info.entry.keywords),
                            "versions": info.versions, "path": info.entry.path}
    if full:
        body["inputs"], body["outputs"], body["readme"] = _inputs(info), _outputs(info), info.readme
    return body


def render_module(info: ModuleInfo) -> str:
    lines = [f"{info.source}" + (f" {info.versions[0]}" if info.versions else "")]
    if info.entry.description:
        lines.append(f"  {info.entry.description}")
    lines.append(f"  versions: {', '.join(info.versions) or 'none tagged (the default branch is used)'}")
    if info.entry.keywords:
        lines.append(f"  keywords: {', '.join(info.entry.keywords)}")
    lines.append(f"  call it:  modules: [{{name: NAME, source: {info.source}, inputs: {{…}}}}]")
    inputs = _inputs(info)
    lines.append("Inputs:" if inputs else "Inputs: none")
    for row in inputs:
        default = "(sensitive)" if row["sensitive"] else ("required" if row["required"] else f"default {json.dumps(row['default'])}")
        checks = "".join(f", {key} {json.dumps(value)}" for key, value in row.get("checks", {}).items())
        lines.append(f"  {row['name']} ({row['type']}, {default}{checks})" + (f": {row['description']}" if row["description"] else ""))
    outputs = _outputs(info)
    lines.append("Outputs:" if outputs else "Outputs: none")
    for row in outputs:
        lines.append(f"  {row['name']} = {row['value']}" + (f": {row['description']}" if row["description"] else ""))
    if info.readme:
        where = "" if is_local(info.entry.path) else " in the registry"
        lines.append(f"More in the module's README.md ({info.entry.path.rstrip('/')}/README.md{where}).")
    return "\n".join(lines) + "\n"
