"""Pure checks of the environment features: policies, remote-check rules (on a fake inventory),
`state push` acceptance rules and `state mv` planning."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from dataiku_iac.engine.policies import check_plan, check_unsaved_apply, drift_exit_code, policies_of
from dataiku_iac.engine.remote_checks import Inventory, check_targets, read_inventory
from dataiku_iac.errors import UnsafeOperationError
from dataiku_iac.model import DesiredState, Resource, SourceRef
from dataiku_iac.planner.plan import Action, Plan, PlanOptions, ResourceChange


def _settings(iac: dict, env: dict):
    environment = SimpleNamespace(data={"policies": env}, file="environments/prod.yml")
    return SimpleNamespace(settings={"policies": iac}, environment=environment)


def _plan(*actions: Action, allow_destroy: bool = False) -> Plan:
    changes = tuple(
        ResourceChange(address=f"dataset.P.d{i}", type="dataset", project_key="P", name=f"d{i}", action=a, reason="")
        for i, a in enumerate(actions)
    )
    return Plan(environment="prod", lineage="l", serial=1, config_digest="c", changes=changes,
                options=PlanOptions(allow_destroy=allow_destroy))


def test_environment_policies_win_key_by_key_and_name_their_file():
    policies = policies_of(_settings({"allow_destroy": False, "drift": "warn"}, {"drift": "fail"}), "prod")
    assert (policies.require_saved_plan, policies.allow_destroy, policies.drift) == (False, False, "fail")
    assert policies.where("drift") == "policies.drift in environments/prod.yml"
    assert policies.where("allow_destroy") == "policies.allow_destroy in iac.yml"


def test_require_saved_plan():
    check_unsaved_apply(policies_of(_settings({}, {}), "prod"), destroy=False)
    strict = policies_of(_settings({}, {"require_saved_plan": True}), "prod")
    with pytest.raises(UnsafeOperationError, match=r"plan -e prod --destroy --out prod.plan"):
        check_unsaved_apply(strict, destroy=True)


def test_allow_destroy_refuses_deletes_and_replacements_unless_the_plan_allows_them():
    policies = policies_of(_settings({}, {"allow_destroy": False}), "prod")
    check_plan(_plan(Action.CREATE, Action.UPDATE, Action.FORGET), policies)  # no DSS deletion
    with pytest.raises(UnsafeOperationError, match=r"dataset.P.d0 \(deleted\), dataset.P.d1 \(replaced\)"):
        check_plan(_plan(Action.DELETE, Action.REPLACE), policies)
    check_plan(_plan(Action.DELETE, allow_destroy=True), policies)
    assert Plan.from_json(_plan(Action.DELETE, allow_destroy=True).to_json()).options.allow_destroy
    assert "allow_destroy" not in _plan(Action.DELETE).to_json()["options"]  # unchanged plans elsewhere


def test_drift_exit_code():
    warn, fail = (policies_of(_settings({}, {"drift": d}), "e") for d in ("warn", "fail"))
    assert [drift_exit_code(warn, True), drift_exit_code(fail, True), drift_exit_code(fail, False)] == [0, 2, 0]


# -- remote checks ---------------------------------------------------------------------------------


def _desired(*resources: Resource, remapped: dict | None = None) -> DesiredState:
    desired = DesiredState(environment="prod")
    for r in resources:
        desired.add(r)
    desired.remapped_from.update(remapped or {})
    return desired


def _res(type_: str, name: str, **attrs) -> Resource:
    address = "project.P" if type_ == "project" else f"{type_}.P.{name}"
    return Resource(address=address, type=type_, config_project="P", project_key="P", name=name,
                    attributes=attrs, source=SourceRef("projects/p.yml", 3, 5))


class _Env:
    file = "environments/prod.yml"

    def __init__(self, data):
        self.data = data

    def diagnostic(self, path, message, hint=None, where="entry"):
        from dataiku_iac.errors import Diagnostic

        return Diagnostic(self.file, 7, 3, ".".join(path), message, hint)


INVENTORY = Inventory(
    connections={
        "fs": {"type": "Filesystem", "allowManagedDatasets": True, "allowManagedFolders": False},
        "fs_folders": {"type": "Filesystem", "allowManagedFolders": True},
        "pg": {"type": "PostgreSQL", "allowManagedDatasets": True},
        "s3": {"type": "EC2", "allowManagedDatasets": True, "allowManagedFolders": True},
    },
    code_envs={("PYTHON", "py"), ("R", "r_env")},
)


def test_every_fitting_use_passes():
    desired = _desired(
        _res("dataset", "a", kind="managed", connection="pg"),
        _res("dataset", "b", kind="managed", connection="s3"),
        _res("dataset", "c", kind="sql_query", connection="pg"),
        _res("managed_folder", "f", connection="s3"),
        _res("recipe", "r", kind="r", code_env="r_env"),
        _res("recipe", "s", kind="sql_query"),
        _res("project", "P", code_env={"python": "py", "r": "inherit"}),
    )
    assert check_targets(desired, INVENTORY, _Env({}), where="DSS") == []


def test_problems_are_located_at_the_remapping_entry_or_the_resource():
    env = _Env({"connections": {"filesystem_folders": "fs"}, "code_envs": {}})
    desired = _desired(
        _res("managed_folder", "f", connection="fs"),
        _res("dataset", "t", kind="sql_table", connection="fs_folders"),
        _res("recipe", "r", kind="python", code_env="r_env"),
        remapped={("managed_folder.P.f", "connection"): "filesystem_folders"},
    )
    problems = {d.path: d for d in check_targets(desired, INVENTORY, env, where="DSS")}
    folder = problems["connections.filesystem_folders"]
    assert folder.file == "environments/prod.yml" and "does not allow managed folders" in folder.message
    table = problems["dataset.P.t"]
    assert table.file == "projects/p.yml" and "needs a SQL connection" in table.message
    assert "is not remapped in environments/prod.yml" in table.message
    assert "code env 'r_env' is a R env" in problems["recipe.P.r"].message


def test_non_admin_keys_fall_back_to_connection_info():
    class Client:
        def list_connections(self):
            raise RuntimeError("403: admin only")

        def list_connections_names(self, connection_type):
            return ["fs", "pg"]

        def get_connection(self, name):
            return SimpleNamespace(get_info=lambda: {"type": "PostgreSQL" if name == "pg" else "Filesystem"})

        def list_code_envs(self):
            raise RuntimeError("403: admin only")

    inventory = read_inventory(Client(), {"pg", "missing"})
    assert inventory.connections == {"pg": {"type": "PostgreSQL"}}
    assert not inventory.code_envs_listed and len(inventory.notes) == 2
