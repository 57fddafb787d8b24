"""The tests' `allennlp` command, without paying allennlp's start-up on every run.

`allennlp` spends about 12 of the 14 seconds of a tiny run importing torch, transformers, spacy
and scipy, and the suite runs it a few hundred times (from Python, and from the shell scripts
it tests), so those imports were half of `make test`.

This module is two things:
- a server (`python -m tests.support.allennlp_server serve SOCKET`) that imports allennlp and
  the package once, then forks one process per run;
- its client (`python -m tests.support.allennlp_server ARGS...`, or the `allennlp` script that
  `client_script` writes), which behaves as `allennlp ARGS` would: it hands the server its
  arguments, environment, working directory and its stdin, stdout and stderr themselves (file
  descriptors, passed over the Unix socket), and exits with the run's status, or dies of the
  run's signal.

The forked run calls the same `run()` as the `allennlp` console script, in a fresh process with
the client's descriptors, environment and directory, so the exit status, the output and every
file written are those of a real run. What the server fixed when it imported allennlp cannot
change per run: a run whose environment differs from the server's in a variable that is read at
start-up, or that does not name `--include-package mtdnn_allennlp` (the server has imported the
package, which such a run must not see), is not forked: the server executes the real `allennlp`
for it, with the client's descriptors. `MTDNN_TEST_REAL_PROCESSES=1` does that for every run.
"""

import atexit
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Dict, List, Optional

SOCKET_VARIABLE = "MTDNN_TEST_ALLENNLP_SOCKET"
REAL_PROCESSES_VARIABLE = "MTDNN_TEST_REAL_PROCESSES"
REAL_ALLENNLP = Path(sys.executable).parent / "allennlp"
HERE = os.path.dirname(os.path.abspath(__file__))

# Environment variables that the interpreter, torch, transformers, the hub client, allennlp or
# the package's start-up hook read while they are imported (paths, caches, locale, threads,
# devices, logging, the hook's switch), by prefix. A run whose environment differs from the
# server's in one of them gets a real process. Any other variable is read, if at all, once the
# command runs, in the run's own environment (MTDNN_* by the configs, TMPDIR by tempfile, the
# pipeline scripts' settings by nobody). OMP_NUM_THREADS is the exception: the run sets torch's
# threads from it.
START_UP_PREFIXES = (
    "PYTHON",
    "PATH",
    "HOME",
    "LANG",
    "LC_",
    "XDG_",
    "LD_",
    "HF_",
    "HUGGINGFACE",
    "TRANSFORMERS",
    "TOKENIZERS",
    "TORCH",
    "PYTORCH",
    "CUDA",
    "NVIDIA",
    "OMP_",
    "KMP_",
    "MKL",
    "OPENBLAS",
    "ALLENNLP_",
    "MTDNN_ALLENNLP_NO_COMPAT",
    REAL_PROCESSES_VARIABLE,
)
READ_WHEN_RUN = frozenset({"OMP_NUM_THREADS"})

_LENGTH = struct.Struct("!I")
_STATUS = struct.Struct("!i")


def _receive_exactly(connection: socket.socket, size: int) -> Optional[bytes]:
    """`size` bytes from `connection`; None if the other end closed it first."""
    received = b""
    while len(received) < size:
        chunk = connection.recv(size - len(received))
        if not chunk:
            return None
        received += chunk
    return received


def reason_not_to_fork(args: List[str], env: Dict[str, str], server_env: Dict[str, str]) -> str:
    """Why `allennlp ARGS` with `env` might not run the same forked from the server as afresh;
    "" if it runs the same."""
    if env.get(REAL_PROCESSES_VARIABLE) == "1":
        return f"{REAL_PROCESSES_VARIABLE}=1"
    included = [args[i + 1] for i in range(len(args) - 1) if args[i] == "--include-package"]
    if "mtdnn_allennlp" not in included:
        return "no --include-package mtdnn_allennlp"
    differing = {
        key for key in env.keys() | server_env.keys() if env.get(key) != server_env.get(key)
    }
    read_at_start_up = sorted(
        key for key in differing if key.startswith(START_UP_PREFIXES) and key not in READ_WHEN_RUN
    )
    return f"start-up variables differ: {read_at_start_up}" if read_at_start_up else ""


# --- the server -----------------------------------------------------------------------------


def _become_allennlp(args: List[str], env: Dict[str, str], cwd: str) -> None:
    """In the forked run: sets the process up as a fresh `allennlp ARGS` would be, and runs it.
    Never returns."""
    status = 1
    try:
        os.environ.clear()
        os.environ.update(env)
        import tempfile

        import torch

        tempfile.tempdir = None  # so that TMPDIR is read again
        if env.get("OMP_NUM_THREADS"):
            torch.set_num_threads(int(env["OMP_NUM_THREADS"]))
        os.chdir(cwd)
        # The server script's folder is first on the path, where the console script puts its
        # own folder; neither should provide modules to the run.
        sys.path[:] = [entry for entry in sys.path if entry != HERE]
        sys.argv = [str(REAL_ALLENNLP), *args]
        from allennlp.__main__ import run

        run()
        status = 0
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        if not isinstance(exit.code, (int, type(None))):
            print(exit.code, file=sys.stderr)
    except BaseException:  # noqa: B036 - reported as the interpreter reports it, status 1
        traceback.print_exc()
    finally:
        # What the interpreter does on its way out: the exit handlers (logging's shutdown,
        # temporary folders' clean-up), then the streams.
        try:
            atexit._run_exitfuncs()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: S110 - a closed pipe: nothing more to say
                    pass
            os._exit(status)


def _start_run(
    request: Dict, fds: List[int], connection: socket.socket, server_env: Dict[str, str]
) -> int:
    """Forks the run with the client's descriptors as its stdin, stdout and stderr."""
    args, env, cwd = request["args"], request["env"], request["cwd"]
    reason = reason_not_to_fork(args, env, server_env)
    print(f"{'real process (' + reason + ')' if reason else 'forked'}: {args}", file=sys.stderr)
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    connection.close()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    if not reason:
        _become_allennlp(args, env, cwd)
    try:
        os.chdir(cwd)
        os.execve(REAL_ALLENNLP, [str(REAL_ALLENNLP), *args], env)
    finally:
        os._exit(127)


def _serve_one(connection: socket.socket, server_env: Dict[str, str]) -> None:
    """In a process of its own: runs one request and reports its status. A client that goes
    away (killed, or timed out) takes its run with it."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    header, fds, _, _ = socket.recv_fds(connection, _LENGTH.size, 3)
    (length,) = _LENGTH.unpack(header)
    payload = _receive_exactly(connection, length)
    if payload is None:  # the client went away before its request was whole
        return
    request = json.loads(payload)
    pid = _start_run(request, fds, connection, server_env)
    for fd in fds:
        os.close(fd)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        readable, _, _ = select.select([connection], [], [], 0.05)
        if readable and not connection.recv(1):  # the client is gone
            os.kill(pid, signal.SIGKILL)
    code = os.waitstatus_to_exitcode(status)
    try:
        connection.sendall(_STATUS.pack(code))
    except OSError:
        pass


def serve(path: str) -> None:
    """Imports allennlp and the package, then serves runs on the Unix socket `path` until the
    process that started it exits."""
    import allennlp.__main__  # noqa: F401 - the imports every run would make
    import allennlp.commands  # noqa: F401

    import mtdnn_allennlp  # noqa: F401

    server_env = dict(os.environ)
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".starting")
    listener.listen(16)
    os.rename(path + ".starting", path)  # the path appears once runs can connect
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the handlers reap themselves
    while os.getppid() == parent:
        readable, _, _ = select.select([listener], [], [], 1.0)
        if not readable:
            continue
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            try:
                _serve_one(connection, server_env)
            finally:
                os._exit(0)
        connection.close()
    os.unlink(path)


# --- the client -----------------------------------------------------------------------------


def client(args: List[str]) -> int:
    """`allennlp ARGS` through the server named by $MTDNN_TEST_ALLENNLP_SOCKET: returns the exit
    status, or kills this process with the run's signal."""
    path = os.environ.get(SOCKET_VARIABLE)
    if not path or not os.path.exists(path):  # no server: the real command
        os.execv(REAL_ALLENNLP, [str(REAL_ALLENNLP), *args])
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    payload = json.dumps({"args": args, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(connection, [_LENGTH.pack(len(payload))], [0, 1, 2])
    connection.sendall(payload)
    received = _receive_exactly(connection, _STATUS.size)
    if received is None:
        print("allennlp test server: the run ended without a status", file=sys.stderr)
        return 1
    (code,) = _STATUS.unpack(received)
    if code < 0:  # died of a signal: so does this process, for the caller to see the same
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # the two that have no handler
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def client_script(folder: Path) -> Path:
    """Writes an executable `allennlp` into `folder` that runs this module's client."""
    script = folder / "allennlp"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{os.path.abspath(__file__)}" "$@"\n')
    script.chmod(0o755)
    return script


def start_server(folder: Path, env: Dict[str, str]) -> str:
    """Starts a server in the background (it lives as long as this process) and returns its
    socket path once it accepts runs."""
    import subprocess

    path = str(folder / "allennlp.sock")
    with open(folder / "server.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "serve", path],
            env=env,
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    deadline = time.monotonic() + 300
    while not os.path.exists(path):
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the allennlp test server did not start: see {folder}/server.log")
        time.sleep(0.1)
    return path


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        serve(argv[1])
        return 0
    return client(argv)


if __name__ == "__main__":
    sys.exit(main())
