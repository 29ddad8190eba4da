"""``dataiku.runnables``: the macro base class and the result table."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple


class Runnable:
    """Base class of a macro. DSS builds it with (project_key, config, plugin_config) and calls run()."""

    def __init__(self, project_key: str, config: Dict[str, Any], plugin_config: Dict[str, Any]) -> None:
        self.project_key = project_key
        self.config = config
        self.plugin_config = plugin_config

    def get_progress_target(self) -> Optional[Tuple[int, str]]:
        return None

    def run(self, progress_callback: Any) -> Any:
        raise NotImplementedError


class ResultTable:
    def __init__(self) -> None:
        self.columns: List[Dict[str, str]] = []
        self.records: List[List[Any]] = []
        self.header = ""
        self.name = ""

    def add_column(self, name: str, display_name: str, type: str = "STRING") -> None:
        self.columns.append({"name": name, "displayName": display_name, "type": type})

    def add_record(self, record: List[Any]) -> None:
        self.records.append(list(record))

    def set_header(self, header: str) -> None:
        self.header = header

    def set_name(self, name: str) -> None:
        self.name = name

    def to_json(self) -> Dict[str, Any]:
        return {"header": self.header, "columns": self.columns, "records": self.records, "name": self.name}


__all__ = ["ResultTable", "Runnable"]
