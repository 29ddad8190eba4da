"""Validation and document helpers shared by route modules."""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from .. import defaults, errors
from ..jsoncopy import clone
from ..store import ProjectData, Store

NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")
PROJECT_KEY_RE = re.compile(r"^[A-Za-z0-9_]+$")
SCENARIO_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
LANG_FOR_RECIPE = {"r": "R", "sparkr": "R"}


def check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise errors.bad_request(f"{kind} name is missing")
    if not NAME_RE.match(name):
        raise errors.bad_request(
            f"Invalid {kind.lower()} name '{name}': only letters, digits and underscores are allowed"
        )
    return name


def connection(store: Store, name: Any) -> Dict[str, Any]:
    conn = store.connections.get(name) if isinstance(name, str) else None
    if conn is None:
        raise errors.unknown_connection(name)
    return conn


def check_code_env(store: Store, lang: str, name: Any) -> None:
    if (lang, name) not in store.code_envs:
        raise errors.unknown_code_env(lang, name)


def check_env_selection(store: Store, selection: Optional[Dict[str, Any]], lang: str) -> None:
    """EXPLICIT_ENV must name an existing code env (recipe params.envSelection, project codeEnvs)."""
    if not isinstance(selection, dict):
        return
    mode = selection.get("envMode") or selection.get("mode")
    if mode == "EXPLICIT_ENV":
        check_code_env(store, lang, selection.get("envName"))


def metadata_of(doc: Dict[str, Any], label: str) -> Dict[str, Any]:
    """The metadata view of a taggable object (label, description, tags, checklists, custom kv)."""
    md: Dict[str, Any] = {
        "label": label,
        "tags": clone(doc.get("tags", [])),
        "checklists": clone(doc.get("checklists", {"checklists": []})),
        "custom": clone(doc.get("customMeta", {"kv": {}})),
        "customFields": clone(doc.get("customFields", {})),
    }
    for k in ("description", "shortDesc"):
        if k in doc:
            md[k] = doc[k]
    return md


def apply_metadata(doc: Dict[str, Any], md: Dict[str, Any]) -> None:
    if not isinstance(md, dict):
        raise errors.bad_request("Metadata must be a JSON object")
    if "tags" in md:
        tags = md["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise errors.bad_request("tags must be a list of strings")
        doc["tags"] = list(tags)
    for k in ("description", "shortDesc"):
        if k in md:
            doc[k] = md[k]
    if "checklists" in md:
        doc["checklists"] = md["checklists"]
    if "custom" in md:
        doc["customMeta"] = md["custom"]
    if "customFields" in md:
        doc["customFields"] = md["customFields"]


def split_ref(proj: ProjectData, ref: str) -> tuple:
    """'PK.name' -> ('PK', 'name'); 'name' -> (proj.key, 'name')."""
    if "." in ref:
        pk, name = ref.split(".", 1)
        return pk, name
    return proj.key, ref


def keep_server_fields(new: Dict[str, Any], old: Dict[str, Any], fields: tuple) -> Dict[str, Any]:
    """A PUT replaces the document but cannot change identity fields nor the creation tag."""
    out = clone(new)
    for k in fields:
        if k in old:
            out[k] = clone(old[k])
        else:
            out.pop(k, None)
    if "creationTag" in old:
        out["creationTag"] = clone(old["creationTag"])
    out["versionTag"] = clone(old.get("versionTag", {}))
    return out


def save_bumped(doc: Dict[str, Any], login: str) -> None:
    defaults.bump(doc, login)
