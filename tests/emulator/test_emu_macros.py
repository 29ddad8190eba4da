"""Macros: builtin ones, plugin runnables run in a subprocess, plugin steps in scenarios."""

from __future__ import annotations

import json
import textwrap

import pytest
from emu_helpers import NOT_FOUND, UNAUTHORIZED, raises_dss

PLUGIN_ID = "emu-test"


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def _runnable(root, macro_id, result_type, body, extra=None):
    spec = {
        "meta": {"label": macro_id},
        "resultType": result_type,
        "impersonate": True,
        "permissions": [],
        "macroRoles": [{"type": "PROJECT_MACROS"}],
        "params": [{"name": "folder", "type": "STRING"}],
        "adminParams": [{"name": "secret", "type": "STRING"}],
    }
    spec.update(extra or {})
    _write(root / "python-runnables" / macro_id / "runnable.json", json.dumps(spec))
    _write(root / "python-runnables" / macro_id / "runnable.py", body)


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugin")
    _write(
        root / "plugin.json",
        json.dumps(
            {
                "id": PLUGIN_ID,
                "version": "0.0.1",
                "meta": {"label": "t"},
                "params": [{"name": "level", "type": "INT", "defaultValue": 3}],
            }
        ),
    )
    _write(root / "python-lib" / "emu_plugin_lib.py", "def greet(name):\n    return 'hello ' + name\n")
    _runnable(
        root,
        "table",
        "RESULT_TABLE",
        """
        import dataiku
        from dataiku.runnables import Runnable, ResultTable
        from emu_plugin_lib import greet

        class ListDatasets(Runnable):
            def __init__(self, project_key, config, plugin_config):
                self.project_key, self.config, self.plugin_config = project_key, config, plugin_config

            def run(self, progress_callback):
                client = dataiku.api_client()
                table = ResultTable()
                table.add_column("name", "Name")
                table.add_column("who", "Who")
                for d in client.get_project(self.project_key).list_datasets():
                    table.add_record([d["name"], greet(client.get_auth_info()["authIdentifier"])])
                table.set_name(str(self.plugin_config["level"]) + ":" + str(self.config.get("secret")))
                return table
        """,
    )
    _runnable(
        root,
        "html",
        "HTML",
        """
        from dataiku.runnables import Runnable

        class Html(Runnable):
            def __init__(self, project_key):
                self.project_key = project_key

            def run(self, progress_callback):
                progress_callback(1)
                return "<b>" + self.project_key + "</b>"
        """,
    )
    _runnable(
        root,
        "obj",
        "JSON_OBJECT",
        """
        from dataiku.runnables import Runnable

        class Obj(Runnable):
            def run(self, progress_callback):
                return {"ok": True}
        """,
    )
    _runnable(
        root,
        "boom",
        "HTML",
        """
        from dataiku.runnables import Runnable

        class Boom(Runnable):
            def run(self, progress_callback):
                raise ValueError("drift detected")
        """,
    )
    _runnable(
        root,
        "drift",
        "HTML",
        """
        import dataiku
        from dataiku.runnables import Runnable

        class Drift(Runnable):
            def __init__(self, project_key, config, plugin_config):
                self.project_key, self.config = project_key, config

            def run(self, progress_callback):
                project = dataiku.api_client().get_project(self.project_key)
                folder = project.get_managed_folder(self.config["folder"])
                folder.put_file("/drift/report.json", b'{"drift": false}')
                return "<p>no drift</p>"
        """,
        {"permissions": ["WRITE_CONF"]},
    )
    _runnable(
        root,
        "slow",
        "HTML",
        """
        import time
        from pathlib import Path
        from dataiku.runnables import Runnable

        class Slow(Runnable):
            def __init__(self, project_key, config, plugin_config):
                self.marker = Path(config["folder"])

            def run(self, progress_callback):
                self.marker.write_text("started")
                try:
                    while True:
                        time.sleep(0.05)
                finally:  # an abort must let this run (DSS interrupts before it kills)
                    self.marker.write_text("cleaned up")
        """,
    )
    _write(
        root / "python-steps" / "check" / "step.json", json.dumps({"meta": {"label": "check"}, "params": []})
    )
    _write(
        root / "python-steps" / "check" / "step.py",
        """
        import sys
        import dataiku
        from dataiku.customstep import get_step_config, get_plugin_config

        config = get_step_config()
        assert get_plugin_config()["config"] == config
        project = dataiku.api_client().get_project(dataiku.default_project_key())
        project.update_variables({"step_ran": config["marker"]})
        print("checked marker " + config["marker"])
        sys.exit(1 if config.get("fail") else 0)
        """,
    )
    return root


@pytest.fixture
def project(dss, dss_client, plugin_dir):
    dss.admin.register_plugin(plugin_dir)
    p = dss_client.create_project("MAC", "Macros", "admin")
    p.new_managed_dataset("alpha").with_store_into("filesystem_managed").create()
    return p


def test_list_and_definitions(project, dss):
    types = [m["runnableType"] for m in project.list_macros()]
    assert "pyrunnable_builtin-macros_list-datasets-using-connection" in types
    assert "pyrunnable_emu-test_table" in types
    definition = project.get_macro("pyrunnable_emu-test_table").get_definition()
    assert definition["resultType"] == "RESULT_TABLE" and definition["adminParams"][0]["name"] == "secret"
    dss.admin.seed(api_keys=[{"key": "reader", "login": "reader", "groups": ["analysts"]}])
    perms = project.get_permissions()
    perms["permissions"] = [{"group": "analysts", "readProjectContent": True}]
    project.set_permissions(perms)
    reader = dss.client_for("reader").get_project("MAC")
    assert reader.get_macro("pyrunnable_emu-test_table").get_definition()["adminParams"] == []
    raises_dss(NOT_FOUND, project.get_macro("pyrunnable_emu-test_nope").get_definition)
    assert any(p["id"] == "emu-test" for p in dss.client().list_plugins())


def test_builtin_result_table(project):
    macro = project.get_macro("pyrunnable_builtin-macros_list-datasets-using-connection")
    run_id = macro.run(params={"connection": "filesystem_managed"})
    assert macro.get_status(run_id)["running"] is False
    result = macro.get_result(run_id, as_type="json")
    assert [r[0] for r in result["records"]] == ["MAC.alpha"]
    raises_dss(NOT_FOUND, lambda: macro.get_status(run_id))  # the run ceases to exist once read


def test_plugin_result_table_runs_as_caller_with_plugin_lib(project):
    macro = project.get_macro("pyrunnable_emu-test_table")
    run_id = macro.run(params={"folder": "x"}, admin_params={"secret": "s3"})
    result = macro.get_result(run_id, as_type="json")
    assert result["records"] == [["alpha", "hello admin"]]
    assert result["name"] == "3:s3"  # plugin config defaults; admin params merged for admins


def test_plugin_html_json_and_failure(project):
    html = project.get_macro("pyrunnable_emu-test_html")
    assert html.get_result(html.run(), as_type="string") == b"<b>MAC</b>"
    obj = project.get_macro("pyrunnable_emu-test_obj")
    assert obj.get_result(obj.run(), as_type="json") == {"ok": True}
    boom = project.get_macro("pyrunnable_emu-test_boom")
    run_id = boom.run()
    raises_dss(
        "com.dataiku.dip.exceptions.ExternalProcessFailedException",
        lambda: boom.get_result(run_id),
        "drift detected",
    )


def test_async_run(project):
    macro = project.get_macro("pyrunnable_emu-test_html")
    run_id = macro.run(wait=False)
    import time

    deadline = time.time() + 30
    while macro.get_status(run_id)["running"] and time.time() < deadline:
        time.sleep(0.05)
    assert macro.get_result(run_id, as_type="string") == b"<b>MAC</b>"


def test_macro_permissions(project, dss):
    dss.admin.seed(api_keys=[{"key": "reader2", "login": "reader2", "groups": ["analysts"]}])
    perms = project.get_permissions()
    perms["permissions"] = [{"group": "analysts", "readProjectContent": True}]
    project.set_permissions(perms)
    reader = dss.client_for("reader2").get_project("MAC")
    raises_dss(
        UNAUTHORIZED, lambda: reader.get_macro("pyrunnable_emu-test_drift").run(params={"folder": "x"})
    )


def test_drift_check_scenario_end_to_end(project):
    folder = project.create_managed_folder("iac_state")
    scenario = project.create_scenario("IaC drift check", "step_based")
    settings = scenario.get_settings()
    settings.raw_steps.append(
        {
            "type": "runnable",
            "name": "drift",
            "params": {
                "runnableType": "pyrunnable_emu-test_drift",
                "config": {"folder": folder.id},
                "adminConfig": {},
                "proceedOnFailure": False,
            },
        }
    )
    settings.raw_steps.append(
        {"type": "pystep_emu-test_check", "name": "check", "params": {"config": {"marker": "yes"}}}
    )
    settings.add_daily_trigger(hour=6, minute=0)
    settings.save()
    run = scenario.run_and_wait(no_fail=True)
    assert run.outcome == "SUCCESS", run.get_details()["stepRuns"]
    assert folder.get_file("/drift/report.json").content == b'{"drift": false}'
    assert project.get_variables()["standard"]["step_ran"] == "yes"


def test_failing_macro_and_step_fail_the_scenario(project):
    for step in (
        {"type": "runnable", "params": {"runnableType": "pyrunnable_emu-test_boom", "config": {}}},
        {"type": "pystep_emu-test_check", "params": {"config": {"marker": "x", "fail": True}}},
    ):
        scenario = project.create_scenario("fails " + step["type"], "step_based")
        settings = scenario.get_settings()
        settings.raw_steps.append(step)
        settings.save()
        run = scenario.run_and_wait(no_fail=True)
        assert run.outcome == "FAILED"


def test_a_run_log_holds_what_each_step_printed_even_when_it_failed(project):
    """dataikuapi's run.get_log(): the whole run's log, or one step's (`stepId`): a plugin step's
    output is kept when the step fails, followed by its error."""
    scenario = project.create_scenario("logged", "step_based")
    settings = scenario.get_settings()
    settings.raw_steps.extend([
        {"id": "ok_step", "type": "pystep_emu-test_check", "name": "ok", "params": {"config": {"marker": "first"}}},
        {"id": "bad_step", "type": "pystep_emu-test_check", "name": "bad", "params": {"config": {"marker": "second", "fail": True}}},
    ])
    settings.save()
    run = scenario.run_and_wait(no_fail=True)
    assert run.outcome == "FAILED"
    failed = run.get_log("bad_step")
    assert failed.startswith("[step bad_step] bad (pystep_emu-test_check): FAILED\n"), failed
    assert "checked marker second\n" in failed and "exit status 1" in failed and "first" not in failed
    whole = run.get_log()
    assert whole.index("checked marker first") < whole.index("checked marker second")
    raises_dss(NOT_FOUND, lambda: run.get_log("never_ran"), match="never_ran")


def _until(condition, seconds=30.0):
    import time

    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.05)
    return condition()


def test_abort_interrupts_the_macro_so_its_finally_runs(project, tmp_path):
    marker = tmp_path / "marker"
    macro = project.get_macro("pyrunnable_emu-test_slow")
    run_id = macro.run(params={"folder": str(marker)}, wait=False)
    assert _until(lambda: marker.exists() and marker.read_text() == "started")
    macro.abort(run_id)
    assert _until(lambda: marker.read_text() == "cleaned up")
    assert _until(lambda: not macro.get_status(run_id)["running"])
    with pytest.raises(Exception, match="aborted"):
        macro.get_result(run_id)


def test_plugin_settings_reach_the_plugin_code_and_only_admins_change_them(project, dss, dss_client):
    settings = dss_client.get_plugin(PLUGIN_ID).get_settings()
    assert settings.get_raw()["config"] == {"level": 3}
    settings.get_raw()["config"]["level"] = 7
    settings.save()
    macro = project.get_macro("pyrunnable_emu-test_table")
    assert macro.get_result(macro.run(params={"folder": "x"}, admin_params={"secret": "s3"}), as_type="json")["name"] == "7:s3"
    dss.admin.seed(api_keys=[{"key": "reader", "login": "reader", "groups": ["analysts"]}])
    with pytest.raises(Exception, match=r"403|[Aa]dmin"):
        dss.client_for("reader").get_plugin(PLUGIN_ID).get_settings()
