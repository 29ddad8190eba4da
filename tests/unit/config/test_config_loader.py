from __future__ import annotations

from cfg_helpers import DEMO, messages


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
    assert cfg.settings["policies"] == {"require_saved_plan": False, "allow_destroy": True, "drift": "fail"}
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
