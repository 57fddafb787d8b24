"""The tests' `allennlp` (tests/support/allennlp_server.py): a forked run behaves as the real
command, and a run the server cannot fork faithfully gets the real command."""

import subprocess

import pytest

from tests.conftest import ALLENNLP, REAL_ALLENNLP, ROOT, cli_env
from tests.support.allennlp_server import reason_not_to_fork

PLUGIN = ["--include-package", "mtdnn_allennlp"]
SERVER = {"PATH": "/usr/bin", "HF_HUB_OFFLINE": "1", "MTDNN_SMOKE": "0"}

through_the_server = pytest.mark.skipif(
    ALLENNLP == REAL_ALLENNLP, reason="MTDNN_TEST_REAL_PROCESSES=1: every run is a real process"
)


@pytest.mark.parametrize(
    "args, changes, reason",
    [
        (["train", "c.jsonnet", *PLUGIN], {"MTDNN_SMOKE": "1", "OMP_NUM_THREADS": "1"}, ""),
        (["train", "c.jsonnet", *PLUGIN], {"TMPDIR": "/elsewhere"}, ""),
        # A shell's own variables, and a script's settings (scripts/distill_pipeline.sh).
        (["train", "c.jsonnet", *PLUGIN], {"PWD": "/x", "SHLVL": "2", "TEACHER_SEEDS": "1"}, ""),
        (["train", "c.jsonnet"], {}, "no --include-package mtdnn_allennlp"),
        (["train", "c.jsonnet", *PLUGIN], {"HF_HUB_OFFLINE": "0"}, "['HF_HUB_OFFLINE']"),
        (["train", "c.jsonnet", *PLUGIN], {"MTDNN_ALLENNLP_NO_COMPAT": "1"}, "NO_COMPAT"),
        (["train", "c.jsonnet", *PLUGIN], {"MTDNN_TEST_REAL_PROCESSES": "1"}, "REAL_PROCESSES"),
    ],
)
def test_only_runs_that_differ_in_run_time_variables_are_forked(args, changes, reason):
    found = reason_not_to_fork(args, {**SERVER, **changes}, SERVER)
    if reason:
        assert reason in found
    else:
        assert found == ""


def _server_log() -> str:
    from tests import conftest

    return (conftest._SCRATCH / "server.log").read_text()


@through_the_server
@pytest.mark.slow
def test_a_forked_run_prints_and_exits_as_the_real_command(tmp_path):
    for args in (["--help", *PLUGIN], ["no-such-command", *PLUGIN]):
        forked = subprocess.run(
            [str(ALLENNLP), *args], cwd=tmp_path, env=cli_env(), capture_output=True, text=True
        )
        real = subprocess.run(
            [str(REAL_ALLENNLP), *args], cwd=tmp_path, env=cli_env(), capture_output=True, text=True
        )
        assert f"forked: {args}" in _server_log()
        assert forked.returncode == real.returncode
        assert forked.stdout == real.stdout
        # The same messages, apart from the log lines' timestamps.
        assert [line[24:] for line in forked.stderr.splitlines()] == [
            line[24:] for line in real.stderr.splitlines()
        ]
    assert "invalid choice: 'no-such-command'" in forked.stderr


@through_the_server
@pytest.mark.slow
def test_a_run_with_a_different_start_up_variable_gets_the_real_command():
    result = subprocess.run(
        [str(ALLENNLP), "--version", *PLUGIN],
        cwd=ROOT,
        env=cli_env(HF_HOME=str(ROOT / "no-such-hf-home")),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout.startswith("allennlp")
    assert "real process (start-up variables differ: ['HF_HOME'])" in _server_log()
