"""Thread-safe state of the emulated DSS instance, optionally persisted to a data directory.

One re-entrant lock guards every read-modify-write, so uniqueness checks and creates are atomic.
On disk every object is one JSON file, laid out like DSS's config dir, and only the object that
changed is rewritten:

    config/instance/{connections,code-envs/<LANG>,users,groups,apikeys}/<name>.json
    config/instance/variables.json, config/instance/plugins.json
    config/projects/<KEY>/params.json, variables.json, localvariables.json, tags.json
    config/projects/<KEY>/datasets/<name>.json
    config/projects/<KEY>/recipes/<name>.json + <name>.payload
    config/projects/<KEY>/managed_folders/<id>.json
    config/projects/<KEY>/scenarios/<id>.json (+ <id>.py for script scenarios)
    config/projects/<KEY>/flow_zones.json            the flow zones, in creation order
    config/projects/<KEY>/sql_notebooks.json         the SQL notebooks, in creation order
    config/projects/<KEY>/objects/<kind>.json        any other kind of project object (saved models,
                                                     dashboards, webapps…): {id: document}, in creation order
    config/instance/objects/<kind>.json              any other kind of instance object (API Deployer…)
    config/projects/<KEY>/lib/...                    project library files, as real files
    managed_folders/<KEY>/<id>/...                   managed-folder contents, as real files
    uploads/<KEY>/datasets/<name>/...                the files of UploadedFiles datasets
    datasets/rows.duckdb                             the rows datasets hold (rows.py)
    scenarios/<KEY>/<id>/runs/<runId>.json           scenario run history
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote, unquote

from . import defaults
from .files import DiskFileArea, FileArea, MemoryFileArea
from .rows import RowStore

DEFAULT_ADMIN_KEY = "emulator-admin-key"


def default_seed(admin_key: str = DEFAULT_ADMIN_KEY) -> Dict[str, Any]:
    return {
        "api_keys": [
            {
                "key": admin_key,
                "login": "admin",
                "admin": True,
                "groups": ["administrators"],
                "label": "emulator admin key",
            }
        ],
        "connections": [
            {
                "name": "filesystem_managed",
                "type": "Filesystem",
                "params": {"root": "/data/dss/managed_datasets"},
                "allowManagedDatasets": True,
                "allowManagedFolders": False,
            },
            {
                "name": "filesystem_folders",
                "type": "Filesystem",
                "params": {"root": "/data/dss/managed_folders"},
                "allowManagedDatasets": False,
                "allowManagedFolders": True,
            },
            {
                "name": "postgres_dw",
                "type": "PostgreSQL",
                "params": {
                    "host": "localhost",
                    "port": 5432,
                    "db": "dw",
                    "user": "dss",
                    "password": "REDACTED",
                },
                "allowManagedDatasets": True,
                "allowManagedFolders": False,
            },
        ],
        "code_envs": [{"envLang": "PYTHON", "envName": "py39_default", "deploymentMode": "DESIGN_MANAGED"}],
        "users": [
            {
                "login": "admin",
                "displayName": "Administrator",
                "groups": ["administrators"],
                "userProfile": "DESIGNER",
            }
        ],
        "groups": [
            {"name": "administrators", "admin": True, "description": "DSS administrators"},
            # DSS ships these two groups (dss-fidelity-findings.md section 7).
            {"name": "data_team", "mayCreateProjects": True, "description": "Data team"},
            {"name": "readers", "description": "Read-only users"},
        ],
    }


def _fname(name: str) -> str:
    return quote(name, safe="") + ".json"


def _unfname(fname: str) -> str:
    return unquote(fname[: -len(".json")])


class ProjectData:
    """Everything a project holds. Mutated only under Store.lock."""

    def __init__(self, key: str, params: Dict[str, Any], library: FileArea) -> None:
        self.key = key
        self.params = params
        self.variables: Dict[str, Any] = {}
        self.local_variables: Dict[str, Any] = {}
        self.tags: Dict[str, Any] = {"tags": {}}
        self.datasets: Dict[str, Dict[str, Any]] = {}
        self.recipes: Dict[str, Dict[str, Any]] = {}
        self.payloads: Dict[str, str] = {}
        self.folders: Dict[str, Dict[str, Any]] = {}
        self.scenarios: Dict[str, Dict[str, Any]] = {}
        self.scenario_scripts: Dict[str, str] = {}
        self.runs: Dict[str, List[Dict[str, Any]]] = {}
        self.zones: Dict[str, Dict[str, Any]] = {}  # zone id -> zone (the default zone only once edited)
        self.sql_notebooks: Dict[str, Dict[str, Any]] = {}  # notebook id -> its content
        # Every other kind of project object, by kind ("savedmodels", "dashboards"…): id -> document.
        # A route module owns its kinds; Store.collection/save_collection keep them (see module doc).
        self.collections: Dict[str, Dict[str, Dict[str, Any]]] = {}
        self.library = library

    def collection(self, kind: str) -> Dict[str, Dict[str, Any]]:
        """The project's objects of `kind` (id -> document), created empty on first use."""
        return self.collections.setdefault(kind, {})


class Store:
    def __init__(self, data_dir: Optional[Path] = None, seed: Optional[Dict[str, Any]] = None) -> None:
        self.lock = threading.RLock()
        self.data_dir = Path(data_dir) if data_dir else None
        self.seed = copy.deepcopy(seed or default_seed())
        self.generation = 0  # bumped on reset so background runs of a wiped world stop writing
        self._init_instance()
        self.projects: Dict[str, ProjectData] = {}
        self.folder_areas: Dict[Tuple[str, str], FileArea] = {}
        self.rows = RowStore(self.data_dir / "datasets" / "rows.duckdb" if self.data_dir else None)
        self._spool: Optional[Path] = None  # uploads of an emulator without data dir (a temp dir)
        fresh = True
        if self.data_dir:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fresh = not (self.data_dir / "config" / "instance").is_dir()
            self._load()
        if fresh:
            self.apply_seed(self.seed)
        else:
            # A restart keeps the instance as it was; only the start-up keys are (re)installed.
            self.apply_seed(
                {"api_keys": self.seed.get("api_keys", []), "plugins": self.seed.get("plugins", [])}
            )

    # ------------------------------------------------------------ paths and raw persistence

    def _write_json(self, rel: str, doc: Any) -> None:
        if not self.data_dir:
            return
        self._write_bytes(rel, json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8"))

    def _write_bytes(self, rel: str, data: bytes) -> None:
        if not self.data_dir:
            return
        target = self.data_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / (f".tmp-{target.name}-{threading.get_ident()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def _remove(self, rel: str) -> None:
        if not self.data_dir:
            return
        target = self.data_dir / rel
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists():
            target.unlink()

    @staticmethod
    def _project_rel(key: str) -> str:
        return f"config/projects/{key}"

    # ------------------------------------------------------------ instance config

    def _init_instance(self) -> None:
        self.connections: Dict[str, Dict[str, Any]] = {}
        self.code_envs: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.users: Dict[str, Dict[str, Any]] = {}
        self.groups: Dict[str, Dict[str, Any]] = {}
        self.api_keys: Dict[str, Dict[str, Any]] = {}
        self.tickets: Dict[
            str, Dict[str, Any]
        ] = {}  # internal tickets for code the emulator runs; never saved
        self.global_variables: Dict[str, Any] = {}
        self.plugin_dirs: List[str] = []
        # Every other kind of instance object, by kind: id -> document (save_instance_collection)
        self.instance_collections: Dict[str, Dict[str, Dict[str, Any]]] = {}
        # plugin id -> its instance-level settings ({"config": plugin params, "codeEnvName"})
        self.plugin_settings: Dict[str, Dict[str, Any]] = {}
        # Project Standards (routes/project_standards.py): the check library, the scopes (the
        # default one first) and each project's last report; in memory only
        self.project_standards: Dict[str, Any] = {
            "checks": {}, "scopes": {"default": defaults.project_standards_default_scope()}, "reports": {}}

    def apply_seed(self, seed: Dict[str, Any]) -> None:
        with self.lock:
            for c in seed.get("connections", []):
                self.put_connection(defaults.connection_doc(c))
            for e in seed.get("code_envs", []):
                self.put_code_env(defaults.code_env_doc(e))
            for g in seed.get("groups", []):
                self.put_group(defaults.group_doc(g))
            for u in seed.get("users", []):
                self.put_user(defaults.user_doc(u))
            for k in seed.get("api_keys", []):
                self.put_api_key(k)
            for path in seed.get("plugins", []):
                self.add_plugin_dir(path)

    def put_connection(self, doc: Dict[str, Any]) -> None:
        self.connections[doc["name"]] = doc
        self._write_json("config/instance/connections/" + _fname(doc["name"]), doc)

    def delete_connection(self, name: str) -> None:
        self.connections.pop(name, None)
        self._remove("config/instance/connections/" + _fname(name))

    def put_code_env(self, doc: Dict[str, Any]) -> None:
        self.code_envs[(doc["envLang"], doc["envName"])] = doc
        self._write_json(
            "config/instance/code-envs/{}/{}".format(doc["envLang"], _fname(doc["envName"])), doc
        )

    def delete_code_env(self, lang: str, name: str) -> None:
        self.code_envs.pop((lang, name), None)
        self._remove(f"config/instance/code-envs/{lang}/{_fname(name)}")

    def put_user(self, doc: Dict[str, Any]) -> None:
        self.users[doc["login"]] = doc
        self._write_json("config/instance/users/" + _fname(doc["login"]), doc)

    def delete_user(self, login: str) -> None:
        self.users.pop(login, None)
        self._remove("config/instance/users/" + _fname(login))

    def put_group(self, doc: Dict[str, Any]) -> None:
        self.groups[doc["name"]] = doc
        self._write_json("config/instance/groups/" + _fname(doc["name"]), doc)

    def delete_group(self, name: str) -> None:
        self.groups.pop(name, None)
        self._remove("config/instance/groups/" + _fname(name))

    def put_api_key(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        key = spec["key"]
        doc = {
            "key": key,
            "id": spec.get("id") or self._key_id(key),
            "login": spec.get("login"),
            "admin": bool(spec.get("admin", False)),
            "groups": list(spec.get("groups") or []),
            "label": spec.get("label", ""),
            "description": spec.get("description", ""),
        }
        self.api_keys[key] = doc
        self._write_json("config/instance/apikeys/" + _fname(doc["id"]), doc)
        if doc["login"] and doc["login"] not in self.users:
            self.put_user(defaults.user_doc({"login": doc["login"], "groups": doc["groups"]}))
        return doc

    @staticmethod
    def _key_id(key: str) -> str:
        import hashlib

        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    def set_global_variables(self, variables: Dict[str, Any]) -> None:
        self.global_variables = variables
        self._write_json("config/instance/variables.json", variables)

    def add_plugin_dir(self, path: str) -> None:
        path = str(Path(path).resolve())
        if path not in self.plugin_dirs:
            self.plugin_dirs.append(path)
            self._write_json("config/instance/plugins.json", self.plugin_dirs)

    def set_plugin_settings(self, plugin_id: str, settings: Dict[str, Any]) -> None:
        self.plugin_settings[plugin_id] = settings
        self._write_json(f"config/instance/plugin-settings/{_fname(plugin_id)}", settings)

    # ------------------------------------------------------------ projects

    def new_library(self, key: str) -> FileArea:
        if self.data_dir:
            return DiskFileArea(self.data_dir / self._project_rel(key) / "lib")
        return MemoryFileArea()

    def add_project(self, key: str, params: Dict[str, Any]) -> ProjectData:
        proj = ProjectData(key, params, self.new_library(key))
        self.projects[key] = proj
        self.save_params(proj)
        self.save_variables(proj)
        self.save_tags(proj)
        return proj

    def upload_files(self, key: str, dataset: str) -> DiskFileArea:
        """The files of an UploadedFiles dataset: in the data dir, else in a temp dir of this process
        (DuckDB reads them as files)."""
        return DiskFileArea(self._uploads_root(key) / quote(dataset, safe=""))

    def _uploads_root(self, key: str) -> Path:
        if self.data_dir:
            root = self.data_dir / "uploads"
        else:
            if self._spool is None:
                import atexit
                import tempfile

                self._spool = Path(tempfile.mkdtemp(prefix="dss-emulator-uploads-"))
                atexit.register(shutil.rmtree, str(self._spool), True)
            root = self._spool
        return root / quote(key, safe="") / "datasets"

    def delete_project(self, key: str, drop_folder_data: bool, drop_dataset_data: bool = True) -> None:
        proj = self.projects.pop(key)
        if drop_dataset_data:
            self.rows.drop_project(key)
        if self.data_dir or self._spool:
            shutil.rmtree(self._uploads_root(key).parent, ignore_errors=True)
        for fid in list(proj.folders):
            area = self.folder_areas.pop((key, fid), None)
            if drop_folder_data and area is not None:
                area.destroy()
        proj.library.destroy()
        self._remove(self._project_rel(key))
        self._remove(f"scenarios/{key}")

    def save_params(self, proj: ProjectData) -> None:
        self._write_json(self._project_rel(proj.key) + "/params.json", proj.params)

    def save_variables(self, proj: ProjectData) -> None:
        self._write_json(self._project_rel(proj.key) + "/variables.json", proj.variables)
        self._write_json(self._project_rel(proj.key) + "/localvariables.json", proj.local_variables)

    def save_tags(self, proj: ProjectData) -> None:
        self._write_json(self._project_rel(proj.key) + "/tags.json", proj.tags)

    def save_dataset(self, proj: ProjectData, name: str) -> None:
        self._write_json(f"{self._project_rel(proj.key)}/datasets/{_fname(name)}", proj.datasets[name])

    def remove_dataset(self, proj: ProjectData, name: str) -> None:
        proj.datasets.pop(name, None)
        self.rename_in_zones(proj, "DATASET", name, None)
        self._remove(f"{self._project_rel(proj.key)}/datasets/{_fname(name)}")

    def save_recipe(self, proj: ProjectData, name: str) -> None:
        base = "{}/recipes/{}".format(self._project_rel(proj.key), quote(name, safe=""))
        self._write_json(base + ".json", proj.recipes[name])
        self._write_bytes(base + ".payload", proj.payloads.get(name, "").encode("utf-8"))

    def remove_recipe(self, proj: ProjectData, name: str) -> None:
        proj.recipes.pop(name, None)
        self.rename_in_zones(proj, "RECIPE", name, None)
        proj.payloads.pop(name, None)
        base = "{}/recipes/{}".format(self._project_rel(proj.key), quote(name, safe=""))
        self._remove(base + ".json")
        self._remove(base + ".payload")

    def save_folder(self, proj: ProjectData, fid: str) -> None:
        self._write_json(f"{self._project_rel(proj.key)}/managed_folders/{_fname(fid)}", proj.folders[fid])

    def remove_folder(self, proj: ProjectData, fid: str, drop_data: bool) -> None:
        proj.folders.pop(fid, None)
        self.rename_in_zones(proj, "MANAGED_FOLDER", fid, None)
        self._remove(f"{self._project_rel(proj.key)}/managed_folders/{_fname(fid)}")
        area = self.folder_areas.pop((proj.key, fid), None)
        if drop_data:
            (area or self.folder_files(proj.key, fid, cache=False)).destroy()

    def folder_files(self, key: str, fid: str, cache: bool = True) -> FileArea:
        area = self.folder_areas.get((key, fid))
        if area is None:
            if self.data_dir:
                area = DiskFileArea(self.data_dir / "managed_folders" / key / fid)
            else:
                area = MemoryFileArea()
            if cache:
                self.folder_areas[(key, fid)] = area
        return area

    def save_scenario(self, proj: ProjectData, sid: str) -> None:
        base = "{}/scenarios/{}".format(self._project_rel(proj.key), quote(sid, safe=""))
        self._write_json(base + ".json", proj.scenarios[sid])
        if sid in proj.scenario_scripts:
            self._write_bytes(base + ".py", proj.scenario_scripts[sid].encode("utf-8"))

    def remove_scenario(self, proj: ProjectData, sid: str) -> None:
        proj.scenarios.pop(sid, None)
        proj.scenario_scripts.pop(sid, None)
        proj.runs.pop(sid, None)
        base = "{}/scenarios/{}".format(self._project_rel(proj.key), quote(sid, safe=""))
        self._remove(base + ".json")
        self._remove(base + ".py")
        self._remove("scenarios/{}/{}".format(proj.key, quote(sid, safe="")))

    def save_zones(self, proj: ProjectData) -> None:
        self._write_json(self._project_rel(proj.key) + "/flow_zones.json", list(proj.zones.values()))

    def save_sql_notebooks(self, proj: ProjectData) -> None:
        self._write_json(self._project_rel(proj.key) + "/sql_notebooks.json", list(proj.sql_notebooks.values()))

    def save_collection(self, proj: ProjectData, kind: str) -> None:
        """Persist the project's objects of `kind` (one file per kind: these are small documents)."""
        self._write_json(f"{self._project_rel(proj.key)}/objects/{_fname(kind)}", proj.collection(kind))

    def instance_collection(self, kind: str) -> Dict[str, Dict[str, Any]]:
        """The instance's objects of `kind` (id -> document; API Deployer services, deployments…)."""
        return self.instance_collections.setdefault(kind, {})

    def save_instance_collection(self, kind: str) -> None:
        self._write_json(f"config/instance/objects/{_fname(kind)}", self.instance_collection(kind))

    def rename_in_zones(self, proj: ProjectData, object_type: str, old: str, new: Optional[str]) -> None:
        """Point the project's zone references to a local object at its new id (drop them if None)."""
        changed = False
        for zone in proj.zones.values():
            for key in ("items", "shared"):
                refs = []
                for ref in zone.get(key, []):
                    local = ref.get("projectKey", proj.key) == proj.key
                    if local and (ref.get("objectType"), ref.get("objectId")) == (object_type, old):
                        changed = True
                        if new is None:
                            continue
                        ref = dict(ref, objectId=new)
                    refs.append(ref)
                zone[key] = refs
        if changed:
            self.save_zones(proj)

    def save_run(self, proj: ProjectData, sid: str, run: Dict[str, Any], generation: int) -> None:
        """Persist a scenario run; ignored if the world was reset since the run started."""
        with self.lock:
            if generation != self.generation or self.projects.get(proj.key) is not proj:
                return
            self._write_json(
                "scenarios/{}/{}/runs/{}.json".format(proj.key, quote(sid, safe=""), run["runId"]), run
            )

    # ------------------------------------------------------------ load and reset

    def _read_json(self, path: Path) -> Any:
        return json.loads(path.read_text(encoding="utf-8"))

    def _load(self) -> None:
        assert self.data_dir is not None
        inst = self.data_dir / "config" / "instance"
        for f in sorted((inst / "connections").glob("*.json")):
            self.connections[_unfname(f.name)] = self._read_json(f)
        for f in sorted((inst / "code-envs").glob("*/*.json")):
            doc = self._read_json(f)
            self.code_envs[(doc["envLang"], doc["envName"])] = doc
        for f in sorted((inst / "users").glob("*.json")):
            self.users[_unfname(f.name)] = self._read_json(f)
        for f in sorted((inst / "groups").glob("*.json")):
            self.groups[_unfname(f.name)] = self._read_json(f)
        for f in sorted((inst / "apikeys").glob("*.json")):
            doc = self._read_json(f)
            self.api_keys[doc["key"]] = doc
        if (inst / "variables.json").exists():
            self.global_variables = self._read_json(inst / "variables.json")
        if (inst / "plugins.json").exists():
            self.plugin_dirs = self._read_json(inst / "plugins.json")
        for f in sorted((inst / "plugin-settings").glob("*.json")):
            self.plugin_settings[_unfname(f.name)] = self._read_json(f)
        for f in sorted((inst / "objects").glob("*.json")):
            self.instance_collections[_unfname(f.name)] = self._read_json(f)
        for pdir in sorted((self.data_dir / "config" / "projects").glob("*")):
            if (pdir / "params.json").exists():
                self._load_project(pdir)

    def _load_project(self, pdir: Path) -> None:
        key = pdir.name
        proj = ProjectData(key, self._read_json(pdir / "params.json"), self.new_library(key))
        if (pdir / "variables.json").exists():
            proj.variables = self._read_json(pdir / "variables.json")
        if (pdir / "localvariables.json").exists():
            proj.local_variables = self._read_json(pdir / "localvariables.json")
        if (pdir / "tags.json").exists():
            proj.tags = self._read_json(pdir / "tags.json")
        for f in sorted((pdir / "datasets").glob("*.json")):
            proj.datasets[_unfname(f.name)] = self._read_json(f)
        for f in sorted((pdir / "recipes").glob("*.json")):
            name = _unfname(f.name)
            proj.recipes[name] = self._read_json(f)
            payload = f.with_suffix(".payload")
            proj.payloads[name] = payload.read_text(encoding="utf-8") if payload.exists() else ""
        for f in sorted((pdir / "managed_folders").glob("*.json")):
            proj.folders[_unfname(f.name)] = self._read_json(f)
        for f in sorted((pdir / "scenarios").glob("*.json")):
            sid = _unfname(f.name)
            proj.scenarios[sid] = self._read_json(f)
            script = f.with_suffix(".py")
            if script.exists():
                proj.scenario_scripts[sid] = script.read_text(encoding="utf-8")
        if (pdir / "flow_zones.json").exists():
            proj.zones = {z["id"]: z for z in self._read_json(pdir / "flow_zones.json")}
        if (pdir / "sql_notebooks.json").exists():
            proj.sql_notebooks = {n["id"]: n for n in self._read_json(pdir / "sql_notebooks.json")}
        for f in sorted((pdir / "objects").glob("*.json")):
            proj.collections[_unfname(f.name)] = self._read_json(f)
        runs_root = self.data_dir / "scenarios" / key if self.data_dir else None
        for sid in proj.scenarios:
            rdir = runs_root / quote(sid, safe="") / "runs" if runs_root else None
            if rdir and rdir.is_dir():
                runs = [self._read_json(f) for f in rdir.glob("*.json")]
                proj.runs[sid] = sorted(runs, key=lambda r: r.get("start", 0))
        self.projects[key] = proj

    def reset(self, full: bool = False) -> None:
        """Drop every project (and its files); keep the instance config unless ``full``."""
        with self.lock:
            self.generation += 1
            for key in list(self.projects):
                self.delete_project(key, drop_folder_data=True)
            self.folder_areas.clear()
            self.rows.reset()
            self._remove("uploads")
            self._remove("managed_folders")
            self._remove("config/projects")
            self._remove("scenarios")
            if full:
                self._init_instance()
                self._remove("config/instance")
                self.apply_seed(self.seed)
