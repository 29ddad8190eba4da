"""A fork server for the `dataiku-iac` CLI, so that tests run the CLI as a new process without
paying Python's start-up and the CLI's imports (~0.6 s a run on CI, thousands of runs).

Run as a script (`python cli_forkserver.py SOCKET CLI`): it imports the CLI's modules once, then
for each connection on the Unix socket SOCKET forks a supervisor, which forks the CLI process:

    client --(request JSON + stdin/stdout/stderr file descriptors)--> server --fork--> supervisor
    supervisor --fork--> CLI process: fds 0/1/2 = the client's files, cwd, os.environ, sys.argv
                                      as asked, then `sys.exit(main())`, the console script's body
    supervisor --> client: {"pid": N}, then {"returncode": R, "cpu_seconds": S}
                         (R as Popen.returncode: -SIG if killed; S: the run's user+system time)

Each CLI run is still its own process, forked from a server that never ran a command: no state
leaks from one run to the next, exit codes, signals, threads and atexit handlers behave as in a
process started from the shell. What differs is only what happens before `main()`: the modules
are already imported (none of dataiku-iac reads the environment at import time, so the run's
environment is the one the client sends). The client is `tests/support/cli.py`;
`tests/e2e/test_cli_forkserver.py` compares runs through it with runs of the installed script.
This file imports nothing from the repository's tests and writes nothing to its own stdout.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import struct
import sys

HEADER = struct.Struct("!I")
MAX_FDS = 3


def send_message(conn: socket.socket, payload: dict, fds: tuple = ()) -> None:
    data = json.dumps(payload).encode("utf-8")
    message = HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(conn, [message], list(fds))
    else:
        conn.sendall(message)


def receive_message(conn: socket.socket) -> tuple[dict, list[int]]:
    """One length-prefixed JSON message and the file descriptors sent along with its first bytes.
    Reads exactly that message's bytes: the supervisor sends the pid and the status back to
    back, and a read past the first message would swallow the second (a fast run, under load)."""
    data, fds, _flags, _addr = socket.recv_fds(conn, HEADER.size, MAX_FDS)
    if not data:
        raise EOFError("connection closed")
    (length,) = HEADER.unpack(data + _receive_exactly(conn, HEADER.size - len(data)))
    return json.loads(_receive_exactly(conn, length).decode("utf-8")), fds


def _receive_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = conn.recv(size - len(data))
        if not more:
            raise EOFError("connection closed mid-message")
        data += more
    return data


def run_cli_process(request: dict, fds: list[int], cli_path: str) -> None:
    """In the forked CLI process: become the process the client asked for, run the console
    script's body. Never returns: `sys.exit` ends the interpreter the normal way (threads
    joined, atexit handlers run, streams flushed); nothing on this stack catches it."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [cli_path, *request["args"]]
    sys.path[0] = os.path.dirname(cli_path)  # as for the installed console script
    from dataiku_iac.cli.main import main

    sys.exit(main())


def supervise(conn: socket.socket, cli_path: str) -> None:
    """In the supervisor: read the request, fork the CLI process, tell the client its pid and
    then its status. Nothing here catches the CLI process's SystemExit (see run_cli_process)."""
    try:
        request, fds = receive_message(conn)
    except (OSError, EOFError, ValueError):
        os._exit(1)  # the client went away before asking anything
    pid = os.fork()
    if pid == 0:
        conn.close()
        run_cli_process(request, fds, cli_path)
    for fd in fds:
        os.close(fd)
    try:
        send_message(conn, {"pid": pid})
        _, status, usage = os.wait4(pid, 0)
        cpu = usage.ru_utime + usage.ru_stime
        send_message(conn, {"returncode": os.waitstatus_to_exitcode(status), "cpu_seconds": cpu})
    finally:
        os._exit(0)


def reap_supervisors() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(socket_path: str, cli_path: str) -> None:
    # What a run of the CLI imports, once (the lazy imports of its commands included).
    import dataiku_iac.cli.main  # noqa: F401
    import dataikuapi  # noqa: F401

    # The imported modules are never collected: keep the collector off their pages, so that the
    # forked runs share them with the server instead of copying them (copy-on-write).
    gc.collect()
    gc.freeze()
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # The client waits for the socket's file to exist, and bind() creates it before listen():
    # a client connecting in between is refused. Bind under another name, listen, then rename.
    listener.bind(socket_path + ".binding")
    listener.listen(64)
    os.rename(socket_path + ".binding", socket_path)
    listener.settimeout(1.0)
    sys.stdout.flush()
    sys.stderr.flush()
    while os.getppid() == parent:  # the test process that started us is gone: stop
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            reap_supervisors()
            continue
        conn.setblocking(True)
        pid = os.fork()
        if pid == 0:
            listener.close()
            supervise(conn, cli_path)
        conn.close()
        reap_supervisors()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
