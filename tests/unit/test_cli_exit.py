"""The CLI ends its process once the command is done without tearing the interpreter down (cli/main.py
`_exit`), after flushing what it wrote; with another thread alive it exits the ordinary way."""

from __future__ import annotations

import subprocess
import sys

FAST = """
import atexit, sys
from dataiku_iac.cli.main import _exit
atexit.register(lambda: sys.stderr.write("teardown ran"))
sys.stdout.write("x" * 200000)  # more than a pipe holds: flushed before the process ends
sys.stderr.write("err")
_exit(3)
"""

ORDINARY = """
import atexit, sys, threading, time
from dataiku_iac.cli.main import _exit
atexit.register(lambda: sys.stderr.write("teardown ran"))
threading.Thread(target=time.sleep, args=(0.2,)).start()  # still running at the exit: joined
sys.stdout.write("out")
_exit(2)
"""


def test_the_output_is_complete_and_the_code_kept_without_teardown() -> None:
    done = subprocess.run([sys.executable, "-c", FAST], capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stdout == "x" * 200000 and done.stderr == "err"  # no teardown: its handler did not run


def test_another_thread_alive_means_the_ordinary_exit() -> None:
    done = subprocess.run([sys.executable, "-c", ORDINARY], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (2, "out", "teardown ran")
