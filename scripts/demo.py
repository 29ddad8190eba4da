"""The README's main job: the roadmap's POC demo, end to end, against the bundled emulator.

Starts a DSS emulator on a free port, then runs the real CLI: init, the demo YAML,
plan, apply, a check through dataikuapi that DSS holds the objects, a second dataset,
plan and apply again, and a final plan that must say "No changes.". Exits non-zero if
any step does not do what the roadmap says.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
API_KEY = "demo-admin-key"
DEMO_YAML = """\
project:
  key: DEMO_PROJECT
  name: Demo Project

datasets:
  - name: TEST_DATA
    type: managed
    format: parquet
"""
MORE = """\
  - name: MORE_DATA
    type: managed
    format: csv
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [str(BIN / "dss-emulator"), "--port", str(port), "--api-key", API_KEY, "--data-dir", str(data_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url + "/dip/publicapi/projects/")
            request.add_header("Authorization", "Basic " + __import__("base64").b64encode(f"{API_KEY}:".encode()).decode())
            urllib.request.urlopen(request, timeout=1).read()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the emulator failed to start: " + proc.stderr.read().decode()) from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the emulator did not answer within 30 s")


def run(args: list[str], cwd: Path, env: dict, expect: int = 0) -> str:
    print(f"\n$ dataiku-iac {' '.join(args)}", flush=True)
    done = subprocess.run([str(BIN / "dataiku-iac"), "--no-color", *args], cwd=cwd, env=env, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stdout.write(done.stderr)
    if done.returncode != expect:
        raise SystemExit(f"demo failed: `dataiku-iac {' '.join(args)}` exited {done.returncode}, expected {expect}")
    return done.stdout


def expect_in(text: str, needle: str) -> None:
    if needle not in text:
        raise SystemExit(f"demo failed: expected {needle!r} in the output")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="dataiku-iac-demo-"))
    proc, url = start_emulator(work / "dss-data")
    env = dict(os.environ, DKU_DSS_URL=url, DKU_API_KEY=API_KEY, NO_COLOR="1")
    config = work / "config"
    try:
        print(f"DSS emulator at {url}; config in {config}")
        run(["init", str(config)], work, env)
        (config / "projects" / "demo.yml").write_text(DEMO_YAML)
        expect_in(run(["plan", "-e", "dev"], config, env), "Plan: 2 to add, 0 to change, 0 to destroy.")
        expect_in(run(["apply", "-e", "dev", "--auto-approve"], config, env), "Apply complete!")
        check_dss(url)
        (config / "projects" / "demo.yml").write_text(DEMO_YAML + MORE)
        expect_in(run(["plan", "-e", "dev"], config, env), "Plan: 1 to add, 0 to change, 0 to destroy.")
        expect_in(run(["apply", "-e", "dev", "--auto-approve"], config, env), "Apply complete!")
        expect_in(run(["plan", "-e", "dev"], config, env), "No changes.")
        run(["drift", "-e", "dev"], config, env)
        run(["state", "list", "-e", "dev"], config, env)
        print("\nDemo complete: the project and its datasets exist in DSS and match the configuration.")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def check_dss(url: str) -> None:
    from dataikuapi import DSSClient

    client = DSSClient(url, api_key=API_KEY)
    keys = client.list_project_keys()
    datasets = {d["name"]: d for d in client.get_project("DEMO_PROJECT").list_datasets()}
    print(f"\nChecked with dataikuapi: projects {keys}; datasets {sorted(datasets)} ({datasets['TEST_DATA'].get('formatType')})")
    if "DEMO_PROJECT" not in keys or datasets.get("TEST_DATA", {}).get("formatType") != "parquet":
        raise SystemExit("demo failed: DSS does not hold the project and its parquet dataset")


if __name__ == "__main__":
    main()
