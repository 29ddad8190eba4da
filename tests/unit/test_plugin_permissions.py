"""Authorisation has its own module in the plugin layer (dss/permissions.py): the service layer
(dss/service.py) runs sessions and names the rules, but holds none of them (issue 11). The
rules themselves are exercised against the emulator in tests/plugin."""

from __future__ import annotations

import ast
from pathlib import Path

from dataiku_iac.dss import permissions, service

RULES = ("Caller", "PermissionDenied", "current_caller", "caller_from_browser_headers", "is_admin",
         "is_project_admin", "can_read_project", "check_permission", "check_read_access", "check_state_write")


def test_the_service_names_the_rules_of_the_permissions_module():
    for name in RULES:
        assert getattr(service, name) is getattr(permissions, name), name


def test_the_service_defines_no_rule_of_its_own():
    tree = ast.parse(Path(service.__file__).read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert not defined & set(RULES)
    assert not any(name.startswith(("check_", "is_", "can_")) for name in defined), sorted(defined)
