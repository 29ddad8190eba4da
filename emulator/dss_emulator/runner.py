"""Run a plugin macro (runnable.py) or scenario step (step.py) in a fresh Python process.

Invoked by the emulator as ``python runner.py SPEC.json``; it must not import dss_emulator. The spec gives
``kind`` ("macro"|"step"|"check"), ``file``, ``project_key``, ``config``, ``plugin_config`` and ``result_path``.
The ``dataiku`` stand-in and the plugin's python-lib are on PYTHONPATH; the environment carries
DKU_DSS_URL / DKU_API_KEY / DKU_CURRENT_PROJECT_KEY (and the step config for steps).
For a macro, the single ``Runnable`` subclass of the module is built with 0-3 of
(project_key, config, plugin_config) and ``run(progress_callback)`` is called. The result (None, str,
object with ``to_json()``, or dict) is written to ``result_path`` as JSON: {ok, kind, value, error}.
A step is a module-level script: a non-zero exit or an exception is a failure. A Project Standards
check spec: the single ``ProjectStandardsCheckSpec`` subclass of the module is built without
arguments, given ``config``, ``plugin_config``, ``project`` (a dataikuapi project handle) and
``original_project_key``, and its ``run()`` result is written as JSON.
"""

from __future__ import annotations

import inspect
import json
import runpy
import signal
import sys
import traceback
from typing import Any, Dict


def _runnable_class(namespace: Dict[str, Any]) -> Any:
    from dataiku.runnables import Runnable  # the stand-in, on PYTHONPATH

    found = [
        v for v in namespace.values() if inspect.isclass(v) and issubclass(v, Runnable) and v is not Runnable
    ]
    if len(found) != 1:
        raise RuntimeError(
            f"Expected exactly one class inheriting dataiku.runnables.Runnable, found {len(found)}"
        )
    return found[0]


def _instantiate(cls: Any, spec: Dict[str, Any]) -> Any:
    args = [spec["project_key"], spec.get("config") or {}, spec.get("plugin_config") or {}]
    n = len(inspect.signature(cls.__init__).parameters) - 1  # minus self
    if n > 3:
        raise RuntimeError("A Runnable constructor takes at most 3 arguments")
    return cls(*args[:n])


def _encode(value: Any) -> Dict[str, Any]:
    if value is None:
        return {"kind": "none", "value": ""}
    if hasattr(value, "to_json") and callable(value.to_json):
        return {"kind": "json", "value": json.dumps(value.to_json())}
    if isinstance(value, (dict, list)):
        return {"kind": "json", "value": json.dumps(value)}
    if isinstance(value, bytes):
        return {"kind": "text", "value": value.decode("utf-8", errors="replace")}
    return {"kind": "text", "value": str(value)}


def run_macro(spec: Dict[str, Any]) -> Dict[str, Any]:
    namespace = runpy.run_path(spec["file"], run_name="__dku_runnable__")
    instance = _instantiate(_runnable_class(namespace), spec)
    return _encode(instance.run(lambda *_args, **_kwargs: None))


def run_check(spec: Dict[str, Any]) -> Dict[str, Any]:
    import dataiku  # the stand-in, on PYTHONPATH
    from dataiku.project_standards import ProjectStandardsCheckSpec

    namespace = runpy.run_path(spec["file"], run_name="__dku_check__")
    found = [v for v in namespace.values()
             if inspect.isclass(v) and issubclass(v, ProjectStandardsCheckSpec) and v is not ProjectStandardsCheckSpec]
    if len(found) != 1:
        raise RuntimeError(f"Expected exactly one class inheriting ProjectStandardsCheckSpec, found {len(found)}")
    instance = found[0]()
    instance.config = spec.get("config") or {}
    instance.plugin_config = spec.get("plugin_config") or {}
    instance.project = dataiku.api_client().get_project(spec["project_key"])
    instance.original_project_key = spec["project_key"]
    return _encode(instance.run())


def run_step(spec: Dict[str, Any]) -> Dict[str, Any]:
    runpy.run_path(spec["file"], run_name="__main__")
    return {"kind": "none", "value": ""}


def main() -> int:
    # DSS starts plugin code as a fresh process where SIGINT raises KeyboardInterrupt, and aborts
    # it with SIGINT. An emulator started in the background (`cmd &` in a script) has SIGINT
    # ignored, which its children inherit and Python then leaves ignored: restore DSS's behaviour.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    code = 0
    try:
        out = {"macro": run_macro, "check": run_check}.get(spec["kind"], run_step)(spec)
        out["ok"] = True
    except SystemExit as exc:  # a step calling exit(): 0/None is success
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = {"ok": status == 0, "kind": "none", "value": ""}
        if status != 0:
            out["error"] = f"exit status {exc.code}"
        code = status
    except BaseException as exc:
        traceback.print_exc()
        out = {"ok": False, "kind": "none", "value": "", "error": f"{type(exc).__name__}: {exc}"}
        code = 1
    with open(spec["result_path"], "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    return code


if __name__ == "__main__":
    sys.exit(main())
