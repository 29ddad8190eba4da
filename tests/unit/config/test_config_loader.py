from __future__ import annotations

import pytest
from cfg_helpers import DEMO, messages
from dataiku_iac.cli import scaffold
from dataiku_iac.config import load_config
from dataiku_iac.errors import ConfigError


def test_roadmap_demo_is_accepted_as_written(tree):
    cfg = tree.write({"projects/demo.yml": DEMO}).load()
    assert [p.file for p in cfg.projects] == ["projects/demo.yml"]
    assert cfg.projects[0].data == {
        "project": {"key": "DEMO_PROJECT", "name": "Demo Project"},
        "datasets": [{"name": "TEST_DATA", "type": "managed", "format": "parquet"}],
    }
    assert cfg.environment.name == "dev"
    assert cfg.environment.file == "environments/dev.yml"
    assert cfg.warnings == []
    assert len(cfg.digest) == 64


def test_settings_defaults_when_iac_yml_is_missing_or_empty(tree):
    cfg = tree.write({"projects/demo.yml": DEMO}).load()
    assert cfg.settings["state"] == {"backend": "local", "path": ".dataiku-iac/state"}
    assert cfg.settings["policies"] == {"require_saved_plan": False, "allow_destroy": True, "drift": "fail", "drift_resources": {},
                                          "drift_revert_max_deletions": 0, "require_approval": "none"}
    tree.write({"iac.yml": "# nothing yet\n"})
    assert tree.load().settings == cfg.settings


def test_environment_defaults(tree):
    cfg = tree.write({"projects/demo.yml": DEMO}).load()
    assert cfg.environment.data["dss"] == {"url": None, "api_key_env": "DKU_API_KEY", "verify_tls": True}
    assert cfg.environment.data["project_key"] == {"prefix": "", "suffix": ""}


def test_environment_is_optional(tree):
    cfg = tree.write({"projects/demo.yml": DEMO}).load(None)
    assert cfg.environment is None
    assert cfg.projects[0].data["project"]["key"] == "DEMO_PROJECT"


def test_locate_and_located_diagnostic(tree):
    cfg = tree.write({"projects/demo.yml": DEMO}).load()
    doc = cfg.projects[0]
    assert doc.locate(("datasets", 0, "format")) == (8, 5)
    assert doc.locate(("datasets", 0)) == (6, 5)
    assert doc.locate(("datasets", 0, "nope", 3)) == (6, 5)  # nearest ancestor
    diag = doc.diagnostic(("datasets", 0, "name"), "unknown input", "did you mean 'X'?")
    assert diag.render() == "projects/demo.yml:6:5: error: datasets[0].name: unknown input (did you mean 'X'?)"


def test_every_file_reports_its_errors(tree):
    diags = tree.write({
        "projects/a.yml": "project: {key: A, name: a}\ndatasets: [\n",
        "projects/b.yml": "project: {key: B, nme: b}\n",
    }).errors()
    assert [(d.file, d.line) for d in diags] == [("projects/a.yml", 3), ("projects/b.yml", 1), ("projects/b.yml", 1)]
    assert any("did you mean 'name'" in m for m in messages(diags))


def test_yaml_extension_and_sorted_projects(tree):
    cfg = tree.write({
        "projects/b.yaml": "project: {key: B, name: b}\n",
        "projects/a.yml": "project: {key: A, name: a}\n",
    }).load()
    assert [p.file for p in cfg.projects] == ["projects/a.yml", "projects/b.yaml"]
    assert cfg.project("B").file == "projects/b.yaml"


def test_missing_environment_lists_the_available_ones(tree):
    tree.write({"projects/demo.yml": DEMO, "environments/prod.yml": "", "environments/staging.yaml": ""})
    [diag] = tree.errors("qa")
    assert diag.message == "environment 'qa' not found: there is no environments/qa.yml"
    assert diag.hint == "available environments: dev, prod, staging"


def test_environment_name_cannot_escape(tree):
    tree.write({"projects/demo.yml": DEMO})
    [diag] = tree.errors("../../etc/passwd")
    assert "invalid environment name" in diag.message


def test_no_project_files(tree):
    tree.write({})
    [diag] = tree.errors()
    assert diag.message == "no project files found under projects/"


def test_project_file_cap(tree, monkeypatch):
    from dataiku_iac.config import loader

    monkeypatch.setattr(loader, "MAX_PROJECT_FILES", 2)
    tree.write({f"projects/p{i}.yml": f"project: {{key: P{i}, name: p}}\n" for i in range(3)})
    [diag] = tree.errors()
    assert "too many project files (3)" in diag.message


def test_variables_are_substituted_before_validation(tree):
    cfg = tree.write({"projects/demo.yml": """\
        project: {key: P, name: "${NAME}", protect: "${PROTECT}"}
        datasets:
          - {name: D, type: managed, path: "${projectKey}/${ZONE}/x", connection: "$${ZONE}"}
        """}, env="variables: {NAME: Demo, PROTECT: true, ZONE: eu}\n").load()
    data = cfg.projects[0].data
    assert data["project"] == {"key": "P", "name": "Demo", "protect": True}
    assert data["datasets"][0]["path"] == "${projectKey}/eu/x"
    assert data["datasets"][0]["connection"] == "${ZONE}"
    assert cfg.warnings == []


def test_unknown_references_warn_with_did_you_mean(tree):
    cfg = tree.write({"projects/demo.yml": """\
        project:
          key: P
          name: p
          variables: {standard: {limit: 5}}
        datasets:
          - {name: D, type: managed, path: "${ZOEN}/${limit}/${projectKey}/${whatever}"}
        """}, env="variables: {ZONE: eu}\n").load()
    assert [(w.line, w.severity, w.hint) for w in cfg.warnings] == [
        (6, "warning", "did you mean '${ZONE}'?"),
        (6, "warning", "declare 'whatever' in project.variables, or write '$${whatever}' if DSS defines it "
                       "elsewhere (this also silences the warning)"),
    ]


def test_no_reference_warnings_without_an_environment(tree):
    cfg = tree.write({"projects/demo.yml": "project: {key: P, name: '${X}'}\n"}).load(None)
    assert cfg.warnings == []
    assert cfg.projects[0].data["project"]["name"] == "${X}"


def test_environment_sections_use_variables_but_variables_do_not(tree):
    cfg = tree.write({"projects/demo.yml": DEMO}, env="""\
        variables: {HOST: dss.example.com, SELF: "${HOST}"}
        dss: {url: "https://${HOST}:11200"}
        """).load()
    assert cfg.environment.data["dss"]["url"] == "https://dss.example.com:11200"
    assert cfg.environment.data["variables"]["SELF"] == "${HOST}"


def test_code_files_are_loaded_keyed_as_written(tree):
    cfg = tree.write({
        "projects/demo.yml": """\
            project: {key: P, name: p}
            datasets:
              - {name: A, type: managed}
              - {name: Q, type: sql_query, connection: pg, sql_file: sql/q.sql}
            recipes:
              - {name: r, type: python, inputs: [A], outputs: [Q], code_file: ./recipes/r.py}
            """,
        "sql/q.sql": "SELECT 1\n",
        "recipes/r.py": b"\xef\xbb\xbfprint('h\xc3\xa9')\n",
    }).load()
    assert cfg.projects[0].files == {"sql/q.sql": "SELECT 1\n", "./recipes/r.py": "print('hé')\n"}


def test_digest_is_stable_and_tracks_code_and_environment(tree):
    tree.write({"projects/demo.yml": """\
        project: {key: P, name: p}
        recipes: [{name: r, type: python, outputs: [A], code_file: r.py}]
        datasets: [{name: A, type: managed}]
        """, "r.py": "print(1)\n"})
    first = tree.load().digest
    assert tree.load().digest == first
    (tree.root / "r.py").write_text("print(2)\n")
    second = tree.load().digest
    assert second != first
    (tree.root / "environments" / "dev.yml").write_text("variables: {A: 1}\n")
    assert tree.load().digest != second


def test_policies_and_state_merge_iac_and_environment(tree):
    cfg = tree.write({
        "projects/demo.yml": DEMO,
        "iac.yml": "state: {backend: s3, bucket: b}\npolicies: {drift: warn, allow_destroy: false}\n",
    }, env="policies: {drift: fail}\nstate: {key_prefix: dev/}\n").load()
    assert cfg.policies == {"require_saved_plan": False, "allow_destroy": False, "drift": "fail", "drift_resources": {},
                            "drift_revert_max_deletions": 0, "require_approval": "none"}
    assert cfg.state == {"backend": "s3", "bucket": "b", "key_prefix": "dev/"}


def test_iac_yml_must_be_a_mapping(tree):
    tree.write({"projects/demo.yml": DEMO, "iac.yml": "- a\n"})
    [diag] = tree.errors()
    assert (diag.file, diag.line) == ("iac.yml", 1) and "must be a YAML mapping" in diag.message


def test_errors_are_sorted_and_all_reported(tree):
    tree.write({
        "projects/b.yml": "project: {key: B, name: b, x: 1}\n",
        "projects/a.yml": "project: {key: A, name: a, y: 1}\n",
        "iac.yml": "polices: {}\n",
    })
    diags = tree.errors()
    assert [d.file for d in diags] == ["iac.yml", "projects/a.yml", "projects/b.yml"]


def test_missing_config_directory(tmp_path):
    with pytest.raises(ConfigError):
        load_config(tmp_path / "nope", "dev")


def test_init_skeleton_plus_the_roadmap_demo_loads(tmp_path):
    scaffold.init(tmp_path)
    (tmp_path / "projects" / "demo.yml").write_text(DEMO, encoding="utf-8")
    cfg = load_config(tmp_path, "dev")
    assert cfg.projects[0].data["datasets"][0]["format"] == "parquet"
    assert cfg.warnings == []


@pytest.mark.parametrize("path", ["/var/lib/iac-state", "../elsewhere", "state/../../x", "C:\\state"])
def test_a_local_state_path_outside_the_config_directory_is_refused_where_it_is_set(tree, path):
    """Issue 10, security 7: an absolute `state.path` wrote the state anywhere on the machine."""
    tree.write({"projects/demo.yml": DEMO, "iac.yml": f"version: 1\nstate:\n  backend: local\n  path: '{path}'\n"})
    [diag] = tree.errors()
    assert (diag.file, diag.line, diag.path) == ("iac.yml", 4, "state.path"), diag.render()
    assert "configuration directory" in diag.message and "managed_folder or s3" in (diag.hint or "")
    tree.write({"iac.yml": "version: 1\n"}, env=f"state:\n  path: '{path}'\n")
    [diag] = tree.errors()
    assert (diag.file, diag.line, diag.path) == ("environments/dev.yml", 2, "state.path"), diag.render()


def test_a_relative_local_state_path_inside_the_config_directory_is_fine(tree):
    cfg = tree.write({"projects/demo.yml": DEMO, "iac.yml": "state: {path: infra/../state/here}\n"}).load()
    assert cfg.state["path"] == "infra/../state/here"


def test_an_environment_picking_another_state_backend_does_not_inherit_iac_yml_options(tree):
    tree.write({
        "iac.yml": "version: 1\nstate: {backend: local, path: .dataiku-iac/state}\n",
        "environments/prod.yml": "state: {backend: s3, bucket: b}\n",
        "environments/dev.yml": "state: {path: .dataiku-iac/dev-state}\n",
    })
    assert load_config(tree.root, "prod", projects=False).state == {"backend": "s3", "bucket": "b"}
    dev = load_config(tree.root, "dev", projects=False).state
    assert dev == {"backend": "local", "path": ".dataiku-iac/dev-state"}


def test_a_state_option_is_located_in_the_file_that_sets_it(tree):
    tree.write({
        "iac.yml": "version: 1\nstate:\n  backend: s3\n  bucket: b\n  endpoint_url: http://x\n",
        "environments/dev.yml": "variables: {}\n",
        "environments/prod.yml": "state:\n  endpoint_url: http://y\n",
    })
    dev = load_config(tree.root, "dev", projects=False).state_diagnostic("endpoint_url", "m")
    assert (dev.file, dev.line, dev.path) == ("iac.yml", 5, "state.endpoint_url")
    prod = load_config(tree.root, "prod", projects=False).state_diagnostic("endpoint_url", "m")
    assert (prod.file, prod.line) == ("environments/prod.yml", 2)
