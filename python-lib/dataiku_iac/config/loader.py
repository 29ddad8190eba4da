"""`load_config`: read, check and assemble a configuration directory.

Every stage collects diagnostics instead of stopping, so that one run reports every
problem: a syntax error in one file does not hide the errors of the others. A file
whose YAML could not be read safely is left out of the later stages (its data is not
trusted), and so are checks whose answer depends on it (e.g. "this override names an
unknown address" is not reported while some project file is unreadable).
"""

from __future__ import annotations

import copy
import hashlib
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from .. import defaults
from ..address import Address, address_of
from ..errors import ConfigError, Diagnostic
from ..resources.registry import specs
from . import overrides as ov
from .cache import ConfigCache, dumps, entry_marks
from .checks import check_code_files, check_duplicate_keys, check_duplicate_names
from .documents import EnvironmentConfig, LoadedConfig, Located, ProjectDocument, blame_override
from .files import MAX_PROJECT_FILES, ConfinedReadError, list_yaml_files, read_confined
from .paths import MarkMap, YamlPath
from .pyconfig import is_python_file, list_python_files, load_python_project
from .schema import Issue, check, describe_value
from .suggest import did_you_mean
from .variables import (
    DSS_BUILTINS,
    MODULE_SOURCE_WITH_VARIABLE,
    MODULE_SOURCE_WITH_VARIABLE_HINT,
    Untouched,
    project_variable_names,
    scalar_variables,
    substitute,
    unknown_reference_message,
)
from .yamlsafe import decode_utf8, parse_yaml

SETTINGS_FILE = "iac.yml"
_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# An environment name becomes a file name (environments/<name>.yml) and part of state paths and
# lock names; file systems refuse names over 255 bytes. 64 leaves room for every suffix.
MAX_ENV_NAME_LENGTH = 64
# The schema problems of a document before the environment's overrides: (path, message).
_Baseline = Set[Tuple[YamlPath, str]]


@dataclass
class _Source(Located):
    """One YAML file as read: its data (None if unusable) and the marks of its nodes."""

    file: str
    data: Any = None
    marks: MarkMap = field(default_factory=dict)
    usable: bool = False
    empty: bool = False
    untouched: List[Untouched] = field(default_factory=list)  # ${NAME}s left for DSS
    references: bool = False  # some string value holds "${" (else substitution changes nothing)
    schema_ok: Optional[bool] = None  # from the cache: the data as parsed passed the project schema
    # A file parsed now, for the cache: its bytes, its data as parsed (JSON) and its entry marks,
    # taken before the overrides change data and marks in place.
    to_cache: Optional[Tuple[bytes, str, List[List[Any]]]] = None


class _Run:
    """The state of one load: where we are and everything found so far."""

    def __init__(self, root: Path, cache: Optional[ConfigCache] = None):
        self.root = root
        self.cache = cache
        self.errors: List[Diagnostic] = []
        self.warnings: List[Diagnostic] = []
        self.all_projects_readable = True
        self.module_hashes: Dict[str, str] = {}  # module.yml as shown -> the module's content hash

    def error(self, file: str, message: str, hint: Optional[str] = None, line: int = 0, column: int = 0) -> None:
        self.errors.append(Diagnostic(file, line, column, "", message, hint))

    def issues(self, doc: Located, issues: List[Issue], severity: str = "error") -> None:
        for issue in issues:
            if isinstance(doc, ProjectDocument) and doc.module_items and doc.is_flagged(issue.path):
                continue  # a module's value already reported (an unknown reference left unsubstituted)
            diag = doc.diagnostic(issue.path, issue.message, issue.hint, severity, issue.where)
            (self.errors if severity == "error" else self.warnings).append(diag)
            if severity == "error" and isinstance(doc, ProjectDocument):
                doc.flagged.add(issue.subject)

    # -- reading ---------------------------------------------------------------------
    def read_yaml(self, rel: str, cached: bool = False) -> _Source:
        """The file `rel` parsed; with `cached`, from the cache when it holds these bytes."""
        source = _Source(rel)
        try:
            raw = read_confined(self.root, rel)
        except ConfinedReadError as exc:
            self.error(rel, exc.problem.message, exc.problem.hint)
            return source
        text, problem = decode_utf8(raw, rel)
        if problem is not None:
            self.errors.append(problem)
        if text is None:
            return source
        cache = self.cache if cached else None
        hit = cache.get(raw) if cache is not None else None
        if hit is not None:
            source.data, source.usable, source.references, source.schema_ok = hit.data, True, hit.references, hit.schema_ok
            source.marks = hit.marks(rel, lambda: parse_yaml(text, rel).marks)
            return source
        parsed = parse_yaml(text, rel)

        self.errors.extend(parsed.diagnostics)
        source.data, source.marks, source.empty = parsed.data, parsed.marks, parsed.empty
        source.usable, source.references = parsed.usable, parsed.references
        if cache is not None and parsed.usable and not parsed.diagnostics and isinstance(parsed.data, dict):
            source.to_cache = (raw, dumps(parsed.data), entry_marks(parsed.marks))
        return source

    def read_python(self, rel: str) -> _Source:
        """A Python project file, run and compiled to the data a YAML file holds (config/pyconfig.py)."""
        loaded = load_python_project(self.root, rel)
        self.errors.extend(loaded.diagnostics)
        return _Source(rel, loaded.data, loaded.marks, usable=loaded.data is not None, references=True)

    def read_mapping(self, rel: str, empty_ok: bool, what: str, cached: bool = False) -> _Source:
        """A YAML file whose top level must be a mapping (an empty file counts as {} if allowed)."""
        source = self.read_yaml(rel, cached)
        if not source.usable:
            return source
        if source.data is None and empty_ok:
            source.data = {}
        elif not isinstance(source.data, dict):
            got = "empty" if source.data is None else describe_value(source.data)
            self.errors.append(source.diagnostic((), f"{what} must be a YAML mapping at the top level, but it is {got}"))
            source.usable = False
        return source


def load_config(root: Union[str, Path], environment: Optional[str] = None, *, projects: bool = True,
                strict: bool = True, overrides: bool = True, cache: Optional[ConfigCache] = None) -> LoadedConfig:
    """Load and check the configuration under `root` for `environment` (None: no environment).

    Raises ConfigError with every error found. Warnings are returned in `warnings`.
    With `projects=False` only iac.yml and the environment file are read: commands that
    work on the state (state list, unlock, import into an empty config) must not depend
    on every project file being valid.

    With `strict=False` the errors are returned in `errors` instead, with every readable
    document (the wrong nodes listed in `ProjectDocument.flagged`), so that the model builder
    can check the rest in the same run (`builder.check_config`). `overrides=False` leaves
    the environment's overrides out (to tell which problems they bring in). `cache` keeps the
    project files parsed (and their schema checked) for the next run over the same bytes.
    """
    root = Path(root)
    run = _Run(root, cache)
    if not root.is_dir():
        raise ConfigError([Diagnostic(str(root), 0, 0, "", "the configuration directory does not exist")])
    settings, settings_source = _load_settings(run)
    env_source = _load_environment(run, environment) if environment is not None else None
    _check_state_backend(run, settings, settings_source, env_source)
    variables = scalar_variables(env_source.data.get("variables")) if env_source and env_source.usable else {}
    documents = _load_projects(run, variables, env_source, overrides) if projects else []
    if run.errors and strict:
        raise ConfigError(_sorted(run.errors), warnings=_sorted(run.warnings))
    env = _environment_config(environment, env_source)
    digest = _digest(settings, env, documents, run.module_hashes)
    return LoadedConfig(root, settings, env, documents, _sorted(run.warnings), digest, _sorted(run.errors),
                        settings_marks=settings_source.marks if settings_source is not None else {})


# -- iac.yml ------------------------------------------------------------------------------
def _load_settings(run: _Run) -> Tuple[Dict[str, Any], Optional[_Source]]:
    if not (run.root / SETTINGS_FILE).exists() and not (run.root / SETTINGS_FILE).is_symlink():
        return copy.deepcopy(defaults.SETTINGS), None
    source = run.read_mapping(SETTINGS_FILE, empty_ok=True, what=SETTINGS_FILE)
    if not source.usable:
        return copy.deepcopy(defaults.SETTINGS), None
    run.issues(source, check(source.data, "iac"))
    settings = copy.deepcopy(defaults.SETTINGS)
    state = source.data.get("state")
    if isinstance(state, dict) and state.get("backend", defaults.STATE_BACKEND) != defaults.STATE_BACKEND:
        del settings["state"]["path"]  # the local path means nothing to another backend
    return with_defaults(source.data, settings), source


# What each state backend cannot do without (checked on iac.yml + environment merged).
STATE_BACKEND_NEEDS: Dict[str, Tuple[str, ...]] = {"managed_folder": ("folder",), "s3": ("bucket",)}


def _check_state_backend(run: _Run, settings: Dict[str, Any], iac: Optional[_Source], env: Optional[_Source]) -> None:
    env_state = env.data.get("state") if env is not None and env.usable else None
    env_state = env_state if isinstance(env_state, dict) else {}
    state = {**(settings.get("state") or {}), **env_state}
    backend = state.get("backend")
    if backend in (None, "local"):
        _check_local_state_path(run, state.get("path"), env if "path" in env_state else iac)
    missing = [k for k in STATE_BACKEND_NEEDS.get(backend or "", ()) if not state.get(k)]
    if not missing:
        return
    where = env if "backend" in env_state else iac
    if where is None:
        return
    for key in missing:
        run.errors.append(where.diagnostic(("state", "backend"), f"the {backend} state backend needs 'state.{key}'",
                                           "set it in iac.yml or in the environment file", where="key"))


def _check_local_state_path(run: _Run, path: Any, where: Optional[_Source]) -> None:
    """The local state lives under the config root, like every path of the configuration: an
    absolute path or one climbing out with `..` would write the state anywhere on the machine."""
    if where is None or not isinstance(path, str) or not path:
        return
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute():
        problem = f"the local state path {path!r} is absolute; it must be relative to the configuration directory"
    elif posixpath.normpath(path.replace("\\", "/")).split("/")[0] == "..":
        problem = f"the local state path {path!r} climbs out of the configuration directory ('..')"
    else:
        return
    run.errors.append(where.diagnostic(
        ("state", "path"), problem,
        f"e.g. {defaults.LOCAL_STATE_PATH} (the default); to keep the state elsewhere, use a managed_folder or s3 backend",
    ))


def with_defaults(data: Any, fallback: Dict[str, Any]) -> Dict[str, Any]:
    """`fallback` deep-merged under `data` (data wins; nested mappings are filled in)."""
    result = copy.deepcopy(fallback)
    if not isinstance(data, dict):
        return result
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = with_defaults(value, result[key])
        else:
            result[key] = copy.deepcopy(value)
    return result


# -- environments/<env>.yml ----------------------------------------------------------------
def available_environments(root: Path) -> List[str]:
    return sorted({Path(f).stem for f in list_yaml_files(root, "environments")})


def _load_environment(run: _Run, name: str) -> Optional[_Source]:
    if not _ENV_NAME.match(name or ""):
        run.error("environments/", f"invalid environment name '{name}'",
                  "an environment name may contain letters, digits, '_', '-' and '.'")
        return None
    if len(name) > MAX_ENV_NAME_LENGTH:
        run.error("environments/", f"the environment name '{name[:20]}…' is {len(name)} characters long; "
                  f"the limit is {MAX_ENV_NAME_LENGTH}", "use a shorter environment name")
        return None
    candidates = [f"environments/{name}.{ext}" for ext in ("yml", "yaml")]
    present = [c for c in candidates if (run.root / c).exists() or (run.root / c).is_symlink()]
    if not present:
        known = available_environments(run.root)
        hint = f"available environments: {', '.join(known)}" if known else "no environment files found"
        run.error(candidates[0], f"environment '{name}' not found: there is no {candidates[0]}", hint)
        return None
    if len(present) > 1:
        run.error(present[1], f"environment '{name}' is defined twice ({present[0]} and {present[1]})",
                  "keep only one of the two files")
        return None
    source = run.read_mapping(present[0], empty_ok=True, what="an environment file")
    if not source.usable:
        return source
    env_vars = scalar_variables(source.data.get("variables"))
    data, untouched = _substitute_except_variables(source.data, env_vars)
    source.data = data
    run.issues(source, check(data, "environment"))
    source.untouched = untouched
    return source


def _substitute_except_variables(data: Dict[str, Any], variables: Dict[str, Any]) -> Tuple[Dict[str, Any], List[Untouched]]:
    """Variables may be used anywhere in an environment file except in `variables` itself."""
    result: Dict[str, Any] = {}
    found: List[Untouched] = []
    for key, value in data.items():
        if key == "variables":
            result[key] = value
            continue
        result[key], names = substitute(value, variables, (key,))
        found.extend(names)
    return result, found


def _environment_config(name: Optional[str], source: Optional[_Source]) -> Optional[EnvironmentConfig]:
    if name is None or source is None:
        return None
    return EnvironmentConfig(name, source.file, with_defaults(source.data, defaults.ENVIRONMENT), source.marks)


# -- projects/*.yml ------------------------------------------------------------------------
def _load_projects(run: _Run, variables: Dict[str, Any], env: Optional[_Source], overrides: bool = True) -> List[ProjectDocument]:
    docs = _read_projects(run, variables)
    projects = [doc for doc, _, _ in docs]
    run.module_hashes = _expand_modules(run, projects)
    baselines: Dict[int, _Baseline] = {}
    if env is not None and env.usable and overrides:
        baselines = _apply_overrides(run, env, projects)
    for doc, untouched, source in docs:
        issues = _check_project(run, doc, source)
        if id(doc) in baselines and env is not None:
            issues = _blame_overrides(run, env, doc, issues, baselines[id(doc)])
        run.issues(doc, issues)
        if env is not None:
            _warn_untouched(run, doc, untouched, variables)
    if env is not None and env.usable:
        _warn_env_untouched(run, env, projects, variables)
    check_duplicate_keys(run.errors, projects)
    for doc in projects:
        check_duplicate_names(run.errors, doc)
        doc.files = check_code_files(run.errors, run.root, doc)
    if run.cache is not None and run.cache.writes:
        run.cache.prune()
    return projects


def _check_project(run: _Run, doc: ProjectDocument, source: _Source) -> List[Issue]:
    """The schema problems of `doc`. When the document is the file as parsed (no variable to
    substitute, no override) the cache's answer for those bytes stands, and a fresh answer is
    kept for the next run."""
    as_parsed = not source.references and not doc.overridden and "modules" not in doc.data
    if as_parsed and source.schema_ok:
        return []
    expanded = _expanded_key(run, doc)
    if expanded is not None:
        hit = run.cache.get(expanded) if run.cache is not None else None
        if hit is not None and hit.schema_ok:
            return []
    issues = check(doc.data, "project")
    if expanded is not None and run.cache is not None and not issues:
        # The document module calls made: its schema answer kept under its canonical JSON, which
        # is also a file that parses to exactly this data (JSON is YAML), so the entry is true of
        # whatever bytes it is found for.
        run.cache.put(expanded, expanded.decode("utf-8"), [], "${" in expanded.decode("utf-8"), True)
    # A file the schema refuses is not kept: it may hold a secret written inline by mistake (a
    # webhook URL, a value beside a secret_env), which the schema refuses and which the cache
    # would otherwise keep after the file is fixed (docs/security.md).
    if run.cache is not None and source.to_cache is not None and not issues:
        raw, data_json, marks = source.to_cache
        run.cache.put(raw, data_json, marks, source.references, True if as_parsed else None)
    return issues


def _expanded_key(run: _Run, doc: ProjectDocument) -> Optional[bytes]:
    """The canonical JSON of a document that module calls expanded (the cache's key for its
    schema answer: the expanded document is not the bytes of any file), None for the others."""
    if run.cache is None or not doc.module_items:
        return None
    return dumps(doc.data).encode("utf-8")


def _expand_modules(run: _Run, projects: List[ProjectDocument]) -> Dict[str, str]:
    """Expand the documents' module calls into their sections (modules/expand.py), before the
    overrides, which may then patch a module's resources by their module address."""
    locked = (run.root / "iac.lock.yml").exists()
    if not locked and not any("modules" in doc.data for doc in projects):
        return {}
    from ..modules.expand import expand_modules  # the modules package reads config files: imported when used
    from ..modules.sources import check_lock_declarations

    calls: List[Tuple[str, Optional[str]]] = []
    for doc in projects:
        written = doc.data.get("modules")
        for call in written if isinstance(written, list) else []:
            if isinstance(call, dict) and isinstance(call.get("source"), str):
                version = call.get("version")
                calls.append((call["source"], version if isinstance(version, str) else None))
    hashes = expand_modules(run.root, projects, run.errors, run.warnings)
    if locked:  # iac.lock.yml written for other calls than these: a warning (missing entries are errors)
        run.warnings.extend(check_lock_declarations(run.root, calls))
    return hashes


# The one error a destroy tolerates (it needs no project file): engine/session.py recognises it.
NO_PROJECT_FILES = "no project files found under projects/"


def _read_projects(run: _Run, variables: Dict[str, Any]) -> List[Tuple[ProjectDocument, List[Untouched], _Source]]:
    """Every readable project file, variables substituted, with the references left for DSS
    (and the file as read)."""
    files = sorted(list_yaml_files(run.root, "projects") + list_python_files(run.root, "projects"))
    if not files:
        run.error("projects/", NO_PROJECT_FILES, "add one file per DSS project, e.g. projects/demo.yml")
        return []
    if len(files) > MAX_PROJECT_FILES:
        run.error("projects/", f"too many project files ({len(files)}); the limit is {MAX_PROJECT_FILES}")
        return []
    docs = []
    for rel in files:
        if is_python_file(rel):
            source = run.read_python(rel)
        else:
            source = run.read_mapping(rel, empty_ok=False, what="a project file", cached=True)
        if not source.usable:
            run.all_projects_readable = False
            continue
        # No "${" in any string: substituting would only copy the data.
        data, untouched = substitute(source.data, variables) if source.references else (source.data, [])
        doc = ProjectDocument(rel, data, {}, source.marks)
        built = _module_sources_built(source.data) if source.references else []
        for path in built:
            run.errors.append(doc.diagnostic(path, MODULE_SOURCE_WITH_VARIABLE, MODULE_SOURCE_WITH_VARIABLE_HINT, where="value"))
        docs.append((doc, [u for u in untouched if u.path not in built], source))
    return docs


def _module_sources_built(data: Any) -> List[YamlPath]:
    """The paths of the module calls' `source:` values holding a `${…}` (docs/modules.md, "Source
    forms"): as written, before any variable is substituted in them."""
    calls = data.get("modules") if isinstance(data, dict) else None
    return [("modules", i, "source") for i, call in enumerate(calls if isinstance(calls, list) else [])
            if isinstance(call, dict) and isinstance(call.get("source"), str) and "${" in call["source"]]


def _apply_overrides(run: _Run, env: _Source, projects: List[ProjectDocument]) -> Dict[int, _Baseline]:
    """Apply the overrides; for each document they touch, the schema problems it had before
    (so that those it has only after are reported at the override that brought them)."""
    entries = env.data.get("overrides")
    baselines: Dict[int, _Baseline] = {}
    if not isinstance(entries, dict):
        return baselines
    by_key = {doc.key: doc for doc in reversed(projects) if isinstance(doc.key, str)}
    for text, patch in entries.items():
        address = ov.parse_address(text)
        if address is None or not isinstance(patch, dict):
            continue  # reported by the environment schema
        target = _override_target(run, env, by_key, address, text)
        if target is None:
            continue
        doc, path = target
        if id(doc) not in baselines:
            baselines[id(doc)] = {(i.path, i.message) for i in check(doc.data, "project")}
        doc.overridden.append((path, text))
        current = ov.get_at(doc.data, path)
        for key, _value in ov.identity_changes(address, patch, current):
            run.errors.append(env.diagnostic(("overrides", text, key),
                              f"an override cannot change '{key}' (it would change the address {text})",
                              where="key"))
            patch = {k: v for k, v in patch.items() if k != key}
        ov.merge(current, path, doc.marks, patch, ("overrides", text), env.marks)
    return baselines


def _blame_overrides(run: _Run, env: _Source, doc: ProjectDocument, issues: List[Issue], before: _Baseline) -> List[Issue]:
    """Report the problems that only the overrides brought into `doc` at those overrides, in the
    environment file (a problem already located there, in an overridden value, stays put)."""
    kept = []
    for issue in issues:
        in_project_file = doc.diagnostic(issue.path, issue.message).file == doc.file
        if (issue.path, issue.message) in before or not in_project_file:
            kept.append(issue)
            continue
        run.errors.append(blame_override(doc, env, issue.subject, issue.message, issue.hint))
        doc.flagged.add(issue.subject)
    return kept


def _override_target(run: _Run, env: _Source, by_key: Dict[str, ProjectDocument],
                     address: Address, text: str) -> Optional[Tuple[ProjectDocument, YamlPath]]:
    doc = by_key.get(address.project)
    path = ov.find_target(doc.data, address, doc.module_origin) if doc is not None else None
    if path is not None and doc is not None:
        return doc, path
    if run.all_projects_readable:
        known = [a for d in by_key.values() for a in _addresses(d)]
        run.errors.append(env.diagnostic(("overrides", text),
                          f"override of an unknown address '{text}': no config file defines it",
                          did_you_mean(text, known), where="key"))
    return None


def _addresses(doc: ProjectDocument) -> List[str]:
    key = doc.key or ""
    found = []
    for spec in specs():
        if not spec.named:
            found.append(address_of(spec.type, key))
            continue
        items = doc.data.get(spec.section)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get(spec.id_key), str):
                origin = doc.module_origin((spec.section, index))
                found.append(address_of(spec.type, key, item[spec.id_key], origin.instance if origin else ""))
    return found


def _warn_untouched(run: _Run, doc: ProjectDocument, untouched: List[Untouched], variables: Dict[str, Any]) -> None:
    known = project_variable_names(doc.data) | DSS_BUILTINS
    for ref in untouched:
        mark = doc.marks.get(ref.path)
        if ref.name in known or mark is None or mark.file != doc.file:
            continue  # known to DSS, or the value was replaced by an override
        message, hint = unknown_reference_message(ref.name, variables, known)
        run.warnings.append(doc.diagnostic(ref.path, message, hint, "warning", "value"))


def _warn_env_untouched(run: _Run, env: _Source, projects: List[ProjectDocument], variables: Dict[str, Any]) -> None:
    """References left in the environment file: known if DSS or the targeted project knows them."""
    by_key = {doc.key: doc for doc in projects}
    for ref in env.untouched:
        known = set(DSS_BUILTINS)
        if len(ref.path) >= 2 and ref.path[0] == "overrides":
            address = ov.parse_address(str(ref.path[1]))
            target = by_key.get(address.project) if address else None
            if target is not None:
                known |= project_variable_names(target.data)
        if ref.name in known:
            continue
        message, hint = unknown_reference_message(ref.name, variables, known)
        run.warnings.append(env.diagnostic(ref.path, message, hint, "warning", "value"))


# -- digest & ordering ---------------------------------------------------------------------
def _digest(settings: Dict[str, Any], env: Optional[EnvironmentConfig], projects: List[ProjectDocument],
            module_hashes: Optional[Dict[str, str]] = None) -> str:
    """sha256 of a canonical JSON of everything that shapes a plan (plan staleness). The
    documents are the expanded ones (a module's resources are in them); the content hashes of
    the modules read cover the rest of their files."""
    payload: Dict[str, Any] = {
        "settings": settings,
        "environment": {"name": env.name, "data": env.data} if env else None,
        "projects": [{"file": p.file, "data": p.data, "files": p.files} for p in projects],
    }
    if module_hashes:  # only then: configurations without modules keep their digest
        payload["modules"] = module_hashes
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sorted(diagnostics: List[Diagnostic]) -> List[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.path, d.message))
