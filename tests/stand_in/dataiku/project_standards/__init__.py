"""``dataiku.project_standards``: the base class of a Project Standards check spec (DSS 13.x+ plugin
component ``python-project-standards-check-specs/<id>/``) and its run result.

DSS builds the class without arguments and sets ``config`` (the check's parameters),
``plugin_config``, ``project`` (a dataikuapi ``DSSProject``) and ``original_project_key``, then
calls ``run()``, which returns one of the results below (Dataiku's Developer Guide, "Project
Standards Check component"). The result's JSON is the ``result`` of a check in a run report, as
dataikuapi's ``DSSProjectStandardsCheckRunResult`` reads it: ``{status, severity, message, details}``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional


class ProjectStandardsCheckRunResult:
    def __init__(self, status: str, severity: Optional[int], message: str, details: Optional[Dict[str, Any]] = None) -> None:
        self.status = status
        self.severity = severity
        self.message = message
        self.details = details or {}

    @staticmethod
    def success(message: str = "", details: Optional[Dict[str, Any]] = None) -> ProjectStandardsCheckRunResult:
        return ProjectStandardsCheckRunResult("RUN_SUCCESS", 0, message, details)

    @staticmethod
    def failure(severity: int, message: str = "", details: Optional[Dict[str, Any]] = None) -> ProjectStandardsCheckRunResult:
        if not 0 <= int(severity) <= 5:
            raise ValueError("a failure's severity is between 0 and 5")
        return ProjectStandardsCheckRunResult("RUN_SUCCESS", int(severity), message, details)

    @staticmethod
    def not_applicable(message: str = "", details: Optional[Dict[str, Any]] = None) -> ProjectStandardsCheckRunResult:
        return ProjectStandardsCheckRunResult("NOT_APPLICABLE", None, message, details)

    @staticmethod
    def error(message: str = "", details: Optional[Dict[str, Any]] = None) -> ProjectStandardsCheckRunResult:
        return ProjectStandardsCheckRunResult("RUN_ERROR", None, message, details)

    def to_json(self) -> Dict[str, Any]:
        return {"status": self.status, "severity": self.severity, "message": self.message, "details": self.details}


class ProjectStandardsCheckSpec:
    config: Dict[str, Any]
    plugin_config: Dict[str, Any]
    project: Any
    original_project_key: str

    def run(self) -> ProjectStandardsCheckRunResult:
        raise NotImplementedError
