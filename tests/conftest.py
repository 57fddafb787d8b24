"""Shared test set-up: registers every component, and runs the stock allennlp CLI."""

import atexit
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pytest
import torch
from allennlp.common.util import import_module_and_submodules

from tests.support import allennlp_server

# pytest does not read .allennlp_plugins: register the package's components here.
import_module_and_submodules("mtdnn_allennlp")
# The in-process tests' tiny models too (see `base_env`).
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
TINY_BERT = FIXTURES / "tiny_bert"
# The tests' `allennlp` command: the real one, run through tests/support/allennlp_server.py,
# which forks each run from a process that has already imported allennlp (14 s a run become
# 2). MTDNN_TEST_REAL_PROCESSES=1 gives the installed command itself.
REAL_ALLENNLP = allennlp_server.REAL_ALLENNLP
# Under /tmp: a Unix socket's path must stay under 108 bytes, which a long $TMPDIR can break.
_SCRATCH = Path(
    tempfile.mkdtemp(prefix="mtdnn-tests-", dir="/tmp" if os.path.isdir("/tmp") else None)
)
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
if os.environ.get(allennlp_server.REAL_PROCESSES_VARIABLE) == "1":
    ALLENNLP = REAL_ALLENNLP
else:
    ALLENNLP = allennlp_server.client_script(_SCRATCH)
_server_socket: Optional[str] = None


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.gpu` tests skip, with the reason, where torch sees no CUDA device."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA: torch.cuda.is_available() is False")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


def base_env() -> Dict[str, str]:
    """A subprocess's environment: the tiny encoder, offline, this checkout importable, one
    thread, and no MTDNN_ setting of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MTDNN_")}
    env.update(MTDNN_ENCODER=str(TINY_BERT), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    # Tiny models on one thread: `make test` runs a test process per core, and a run that
    # spreads its tiny matrix products over busy cores waits on its thread pool (a 10-epoch
    # tutorial run took 54 s on two threads beside one other job, 2.6 s on one).
    env["OMP_NUM_THREADS"] = "1"
    return env


def _allennlp_server() -> str:
    """The socket of this test process's allennlp server, started on first use."""
    global _server_socket
    if _server_socket is None:
        _server_socket = allennlp_server.start_server(_SCRATCH, base_env())
    return _server_socket


def cli_env(**overrides: str) -> Dict[str, str]:
    """The environment of a CLI run: the tiny encoder and the fixtures unless overridden, and
    the address of the server behind `ALLENNLP`."""
    env = base_env()
    if ALLENNLP != REAL_ALLENNLP:
        env[allennlp_server.SOCKET_VARIABLE] = _allennlp_server()
    env.update(overrides)
    return env


def run_allennlp(
    args: List[str],
    env: Optional[Dict[str, str]] = None,
    check: bool = True,
    cwd: Path = ROOT,
    include_package: bool = True,
) -> subprocess.CompletedProcess:
    """Runs `allennlp ARGS --include-package mtdnn_allennlp` as a user would (in `cwd`; without
    `--include-package` when `include_package` is false), through `ALLENNLP`."""
    command = [str(ALLENNLP), *args]
    if include_package:
        command += ["--include-package", "mtdnn_allennlp"]
    result = subprocess.run(
        command, cwd=cwd, env=env or cli_env(), capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Callable[..., Path]:
    """`trained_run(config, overrides=None, include=(), **env)`: the run folder of `allennlp
    train CONFIG` with the tiny encoder, the fixtures and `env` (as `cli_env`), trained once per
    test process for each distinct (config, overrides, include, env) and shared by every test
    module that asks for the same run. Tiny models train on one thread (`OMP_NUM_THREADS=1`
    unless `env` says, see `cli_env`). Treat the folder as read-only: copy it to change it.
    `run.log` beside it holds the run's output."""
    runs: Dict[Tuple[Any, ...], Path] = {}

    def train(
        config: str,
        overrides: Optional[Dict[str, Any]] = None,
        include: Sequence[str] = (),
        **env: str,
    ) -> Path:
        key = (config, json.dumps(overrides, sort_keys=True), tuple(include), *sorted(env.items()))
        if key not in runs:
            folder = tmp_path_factory.mktemp(Path(config).stem) / "run"
            args = ["train", config, "-s", str(folder)]
            if overrides:
                args += ["-o", json.dumps(overrides)]
            for package in include:
                args += ["--include-package", package]
            result = run_allennlp(args, env=cli_env(**env))
            (folder.parent / "run.log").write_text(result.stdout + result.stderr)
            runs[key] = folder
        return runs[key]

    return train


def is_valid_bio(tags: List[str]) -> bool:
    """Whether a tag sequence is valid BIO (IOB2): every I-X follows B-X or I-X."""
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


@pytest.fixture
def tiny_encoder(monkeypatch) -> Path:
    """In-process runs: configs read the tiny encoder and the fixtures."""
    monkeypatch.setenv("MTDNN_ENCODER", str(TINY_BERT))
    monkeypatch.delenv("MTDNN_DATA", raising=False)
    return TINY_BERT


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory) -> Dict[str, Path]:
    """Tiny random RoBERTa, ELECTRA, DeBERTa and DeBERTa-v2 folders, built offline once per
    session (scripts/make_tiny_encoders.py), keyed by family."""
    from scripts.make_tiny_encoders import FAMILIES, build

    return build(FAMILIES, tmp_path_factory.mktemp("tiny_encoders"))
