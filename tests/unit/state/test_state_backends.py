"""open_state: the backend registry and the local backend's location."""

from __future__ import annotations

import pytest
from dataiku_iac.errors import StateError
from dataiku_iac.state import LocalBlobStore, StateWriter, known_backends, open_state, register_backend
from dataiku_iac.state import store as store_module


def test_local_backend_default_location(tmp_path):
    writer = open_state({"backend": "local"}, environment="dev", config_root=tmp_path)
    assert isinstance(writer, StateWriter) and isinstance(writer.store, LocalBlobStore)
    assert writer.store.root == tmp_path / ".dataiku-iac" / "state" / "dev"
    assert writer.store.describe() == "local directory .dataiku-iac/state/dev"
    assert writer.environment == "dev"


def test_local_backend_custom_path_and_default_backend(tmp_path):
    writer = open_state({"path": "infra/state"}, environment="prod", config_root=tmp_path)
    assert writer.store.root == tmp_path / "infra" / "state" / "prod"


def test_environments_are_isolated(tmp_path):
    from statetest_helpers import doc_with

    dev = open_state({}, environment="dev", config_root=tmp_path)
    dev.write(doc_with("dev"), expected_serial=0, operation="apply")
    prod = open_state({}, environment="prod", config_root=tmp_path)
    assert prod.read().serial == 0 and dev.read().serial == 1


def test_unknown_backend_lists_known_ones(tmp_path):
    with pytest.raises(StateError, match=r"unknown state backend 's4'; known backends: .*local"):
        open_state({"backend": "s4"}, environment="dev", config_root=tmp_path)


def test_unknown_local_option_is_refused(tmp_path):
    with pytest.raises(StateError, match="unknown option"):
        open_state({"backend": "local", "bucket": "x"}, environment="dev", config_root=tmp_path)


@pytest.mark.parametrize("env", ["", "../prod", "a/b", ".hidden"])
def test_unsafe_environment_names_are_refused(tmp_path, env):
    with pytest.raises(StateError, match="invalid environment name"):
        open_state({}, environment=env, config_root=tmp_path)


def test_register_backend(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "_BACKENDS", dict(store_module._BACKENDS))
    seen = {}

    def factory(spec, *, environment, config_root):
        seen.update(spec=spec, environment=environment, config_root=config_root)
        return StateWriter(LocalBlobStore(config_root / "elsewhere"), environment=environment)

    register_backend("memory", factory)
    assert "memory" in known_backends()
    writer = open_state({"backend": "memory", "x": 1}, environment="dev", config_root=tmp_path)
    assert writer.store.root == tmp_path / "elsewhere"
    assert seen == {"spec": {"backend": "memory", "x": 1}, "environment": "dev", "config_root": tmp_path}


@pytest.mark.parametrize("path", ["/tmp/elsewhere", "../elsewhere"])
def test_local_backend_refuses_a_path_outside_the_config_root(tmp_path, path):
    root = tmp_path / "cfg"
    root.mkdir()
    with pytest.raises(StateError, match="outside the configuration directory"):
        open_state({"backend": "local", "path": path}, environment="dev", config_root=root)
    assert not (tmp_path / "elsewhere").exists()


def test_local_backend_refuses_a_symlink_out_of_the_config_root(tmp_path):
    root = tmp_path / "cfg"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (root / ".dataiku-iac").symlink_to(tmp_path / "outside")
    with pytest.raises(StateError, match="outside the configuration directory"):
        open_state({}, environment="dev", config_root=root)
