"""Checks that look across documents or outside them: unique keys and names, code files.

References between resources (unknown inputs, cycles) are the model builder's job.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..errors import Diagnostic
from ..resources.registry import child_specs
from .documents import Located, ProjectDocument
from .files import ConfinedReadError, read_confined
from .paths import MarkMap, YamlPath
from .suggest import did_you_mean
from .yamlsafe import decode_utf8


def named_lists() -> Dict[str, Tuple[str, str]]:
    """list key -> (identity key, what to call one item's identity), for every registered type."""
    return {spec.section: (spec.id_key, spec.what()) for spec in child_specs()}


def code_file_keys() -> List[Tuple[str, str]]:
    """(list key, key naming a file) pairs that the loader reads."""
    return [(spec.section, key) for spec in child_specs() for key in spec.file_keys]


def _items(doc: ProjectDocument, list_key: str) -> List[Tuple[int, Dict[str, Any]]]:
    items = doc.data.get(list_key)
    if not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def check_duplicate_keys(errors: List[Diagnostic], projects: List[ProjectDocument]) -> None:
    """Two project files may not declare the same project key."""
    first: Dict[str, ProjectDocument] = {}
    for doc in projects:
        key = doc.key
        if not isinstance(key, str):
            continue
        if key in first:
            other = first[key]
            line, _ = other.locate(("project", "key"))
            errors.append(doc.diagnostic(("project", "key"),
                          f"project key '{key}' is already declared in {other.file} (line {line})",
                          "each DSS project is described by exactly one file", where="value"))
        else:
            first[key] = doc


def check_duplicate_names(errors: List[Diagnostic], doc: ProjectDocument) -> None:
    """Names are unique within a list, and a dataset and a folder may not share a name
    (recipe inputs and outputs refer to both by bare name)."""
    for list_key, (id_key, what) in named_lists().items():
        seen: Dict[Any, int] = {}
        for index, item in _items(doc, list_key):
            name = item.get(id_key)
            if not isinstance(name, str):
                continue
            if name in seen:
                doc.flagged.add((list_key, index))
                first = _where(doc, (list_key, seen[name], id_key), (list_key, index))
                errors.append(doc.diagnostic((list_key, index, id_key),
                              f"duplicate {what} '{name}' (first defined at {first})", where="value",
                              hint=_collision_hint(doc, (list_key, index), (list_key, seen[name]))))
            else:
                seen[name] = index
    # A name that is not a string is the schema's error to report; it cannot clash (nor be hashed).
    datasets = {name: i for i, item in _items(doc, "datasets") if isinstance(name := item.get("name"), str)}
    for index, item in _items(doc, "managed_folders"):
        name = item.get("name")
        if isinstance(name, str) and name in datasets:
            doc.flagged.add(("managed_folders", index))
            first = _where(doc, ("datasets", datasets[name], "name"), ("managed_folders", index))
            errors.append(doc.diagnostic(("managed_folders", index, "name"),
                          f"managed folder '{name}' has the same name as a dataset ({first})",
                          "inputs and outputs refer to datasets and folders by name: make them distinct",
                          where="value"))


def _where(doc: ProjectDocument, path: YamlPath, seen_from: YamlPath) -> str:
    """"line N" of the node at `path`, with its file when it is not the file of `seen_from` (an
    item a module call brought, modules/expand.py)."""
    line, _ = doc.locate(path)
    if not doc.module_items:
        return f"line {line}"
    file = doc.file_of(path)
    if file == doc.file_of(seen_from):
        return f"line {line}"
    origin = doc.module_origin(path)
    return f"{file}:{line}" + (f", in module.{origin.instance}" if origin else "")


def _collision_hint(doc: ProjectDocument, *paths: YamlPath) -> Optional[str]:
    """For a name that a module call brought twice: DSS names are flat per project."""
    if not any(doc.module_origin(p) for p in paths):
        return None
    return "DSS names are unique per project: give the module call another name_prefix, or rename the other object"


def check_code_files(errors: List[Diagnostic], root: Path, doc: ProjectDocument) -> Dict[str, str]:
    """Read every code_file / sql_file the document names; keyed by the path as written."""
    contents: Dict[str, str] = {}
    for list_key, file_key in code_file_keys():
        for index, item in _items(doc, list_key):
            for where, rel in _named_files(item, file_key.split(".")):
                if rel in contents:
                    continue
                path = (list_key, index, *where)
                text = _read_code(errors, root, doc, path, rel)
                if text is not None:
                    contents[rel] = text
    return contents


def _named_files(node: Any, keys: List[str]) -> List[Tuple[YamlPath, str]]:
    """(path, file) of each file a spec's file key names in an item: `code_file`, or a key of the
    entries of a list, `steps.*.code_file` (`*`: every entry)."""
    if not keys:
        return [((), node)] if isinstance(node, str) else []
    head, rest = keys[0], keys[1:]
    if head == "*":
        entries = enumerate(node) if isinstance(node, list) else iter(())
        return [((i, *where), rel) for i, entry in entries for where, rel in _named_files(entry, rest)]
    if not isinstance(node, dict) or head not in node:
        return []
    return [((head, *where), rel) for where, rel in _named_files(node[head], rest)]


def _read_code(errors: List[Diagnostic], root: Path, doc: ProjectDocument, path: YamlPath, rel: str) -> Optional[str]:

    try:
        raw = read_confined(root, rel)
    except ConfinedReadError as exc:
        doc.flagged.add(path)
        errors.append(doc.diagnostic(path, exc.problem.message, exc.problem.hint, where="value"))
        return None
    text, problem = decode_utf8(raw, rel)
    if problem is not None:
        doc.flagged.add(path)
        errors.append(doc.diagnostic(path, f"'{rel}' is not valid UTF-8 (line {problem.line})",
                                     "save the file as UTF-8", where="value"))
        return None
    return text


class _IacYml(Located):
    """iac.yml as a located document (the loader keeps its marks on the LoadedConfig)."""

    def __init__(self, marks: MarkMap) -> None:
        self.file = "iac.yml"
        self.marks = marks


def check_drift_globs(cfg: Any, addresses: Iterable[str]) -> List[Diagnostic]:
    """A warning for each `policies.drift_resources` glob that matches no address of the
    configuration (`dataset.SALSE.*`): its policy would never apply to a managed resource. A
    warning, not an error: a glob may be meant for unmanaged objects only. Located at the glob in
    the environment file, or in iac.yml, with the closest address pattern as a hint."""
    known = sorted(set(addresses))
    candidates = {*known, *(f"{a.rsplit('.', 1)[0]}.*" for a in known if a.count(".") >= 2)}
    found = []
    env = cfg.environment
    for doc, policies in ((env, (env.data if env is not None else {}).get("policies")),
                          (_IacYml(cfg.settings_marks), (cfg.settings or {}).get("policies"))):
        globs = (policies or {}).get("drift_resources") if isinstance(policies, dict) else None
        if doc is None or not isinstance(globs, dict):
            continue
        if doc is not env and ("policies", "drift_resources") not in cfg.settings_marks:
            continue  # iac.yml's loaded settings also hold the defaults
        for glob in globs:
            if not isinstance(glob, str) or any(fnmatchcase(a, glob) for a in known):
                continue
            hint = did_you_mean(glob, candidates) or "an address glob, as `dataiku-iac state list` shows them"
            found.append(doc.diagnostic(("policies", "drift_resources", glob),
                                        f"{glob!r} matches no resource of the configuration; "
                                        f"its drift policy applies to none of them (only to unmanaged objects it may match)",
                                        hint, "warning", where="key"))
    return found
