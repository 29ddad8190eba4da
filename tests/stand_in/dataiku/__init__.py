"""Stand-in for DSS's internal ``dataiku`` package, for tests of DSS components outside DSS.

It only covers what our plugin's thin entry points use. ``api_client()`` follows the real package's
location rules 1 and 3 (an earlier ``set_remote_dss``, then env ``DKU_DSS_URL`` + ``DKU_API_KEY``);
tickets (rule 2) and ``~/.dataiku/config.json`` (rule 4) are not supported. Everything goes through
the public API, so tests run against the DSS emulator.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

import dataikuapi

__all__ = [
    "Dataset",
    "Folder",
    "api_client",
    "default_project_key",
    "get_custom_variables",
    "set_default_project_key",
    "set_remote_dss",
]

_remote: Dict[str, Any] = {}
_default_project_key: Optional[str] = None


def set_remote_dss(url: str, api_key: str, no_check_certificate: bool = False) -> None:
    _remote.update(url=url, api_key=api_key, no_check_certificate=no_check_certificate)


def api_client() -> dataikuapi.DSSClient:
    if _remote:
        client = dataikuapi.DSSClient(_remote["url"], api_key=_remote["api_key"])
        if _remote.get("no_check_certificate"):
            client._session.verify = False
        return client
    url, key = os.environ.get("DKU_DSS_URL"), os.environ.get("DKU_API_KEY")
    if url and key:
        client = dataikuapi.DSSClient(url.rstrip("/"), api_key=key)
        if os.environ.get("DKU_NO_CHECK_CERTIFICATE"):
            client._session.verify = False
        return client
    raise Exception("No DSS URL or API key found from any location")


def set_default_project_key(project_key: str) -> None:
    global _default_project_key
    _default_project_key = project_key


def default_project_key() -> str:
    key = _default_project_key or os.environ.get("DKU_CURRENT_PROJECT_KEY")
    if not key:
        raise Exception("Default project key is not specified (no DKU_CURRENT_PROJECT_KEY in env)")
    return key


def get_custom_variables(project_key: Optional[str] = None, typed: bool = False) -> Dict[str, Any]:
    return api_client().get_resolved_variables(project_key or default_project_key(), typed=typed)


class Folder:
    """``dataiku.Folder`` over the public API (the real one uses DSS's internal protocol)."""

    def __init__(self, lookup: str, project_key: Optional[str] = None, ignore_flow: bool = False) -> None:
        if "." in lookup and project_key is None:
            project_key, lookup = lookup.split(".", 1)
        self.project_key = project_key or default_project_key()
        self._project = api_client().get_project(self.project_key)
        self._id = self._resolve(lookup)
        self._handle = self._project.get_managed_folder(self._id)

    def _resolve(self, lookup: str) -> str:
        folders = self._project.list_managed_folders()
        for f in folders:
            if f["id"] == lookup:
                return f["id"]
        matches = [f["id"] for f in folders if f["name"] == lookup]
        if len(matches) != 1:
            raise Exception(f"Managed folder {lookup} not found (or ambiguous) in project {self.project_key}")
        return matches[0]

    def get_id(self) -> str:
        return self._id

    def get_name(self) -> str:
        return self.get_info()["name"]

    def get_info(self, sensitive_info: bool = False) -> Dict[str, Any]:
        return self._handle.get_settings().get_raw()

    def list_paths_in_partition(self, partition: str = "") -> List[str]:
        return sorted(item["path"] for item in self._handle.list_contents()["items"])

    def get_download_stream(self, path: str) -> Any:
        return self._handle.get_file(path).raw

    def read_json(self, path: str) -> Any:
        return json.loads(self._handle.get_file(path).content.decode("utf-8"))

    def write_json(self, path: str, obj: Any) -> None:
        self.upload_data(path, json.dumps(obj).encode("utf-8"))

    def upload_data(self, path: str, data: Any) -> None:
        self._handle.put_file(path, data.encode("utf-8") if isinstance(data, str) else data)

    def upload_stream(self, path: str, f: Any) -> None:
        self._handle.put_file(path, f)

    def delete_path(self, path: str) -> None:
        self._handle.delete_file(path)

    clear_path = delete_path


class Dataset:
    """``dataiku.Dataset``, write side only: ``write_schema`` sets the schema through the public API;
    rows go to ``$DKU_STAND_IN_DATASETS_DIR/<PROJECT>.<name>.jsonl`` (the public API cannot write rows),
    where tests read them. Rows are appended, like an append-mode output."""

    def __init__(self, name: str, project_key: Optional[str] = None, ignore_flow: bool = False) -> None:
        if "." in name and project_key is None:
            project_key, name = name.split(".", 1)
        self.project_key = project_key or default_project_key()
        self.name = name

    def _rows_path(self) -> str:
        folder = os.environ.get("DKU_STAND_IN_DATASETS_DIR")
        if not folder:
            raise Exception("The dataiku stand-in writes dataset rows under $DKU_STAND_IN_DATASETS_DIR: set it")
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f"{self.project_key}.{self.name}.jsonl")

    def write_schema(self, columns: List[Dict[str, Any]], dropAndCreate: bool = False) -> None:
        dataset = api_client().get_project(self.project_key).get_dataset(self.name)
        dataset.set_schema({"columns": list(columns), "userModified": True})

    def get_writer(self) -> _DatasetWriter:
        return _DatasetWriter(self._rows_path())


class _DatasetWriter:
    def __init__(self, path: str) -> None:
        self._handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()/__exit__

    def write_row_dict(self, row: Dict[str, Any]) -> None:
        self._handle.write(json.dumps(row, default=str) + "\n")

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> _DatasetWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
