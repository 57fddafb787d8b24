"""Interruptions by real signals: Ctrl-C before the first checkpoint removes the run dir; a
double Ctrl-C (the second while model.tar.gz is written) leaves no corrupt archive and says
to use --recover; kill -9 part-way through an epoch, then --recover, gives the same weights
and metrics as a run that was never interrupted. (The crash-callback --recover test is
tests/end_to_end/test_train_evaluate_predict.py::test_recover_resumes_without_losing_or_repeating_an_epoch.)
"""

import json
import tarfile

import pytest
import torch

from tests.support.reliability import cli_env, leftovers, run_allennlp
from tests.support.signal_callback import SIGNAL_VARIABLE, WHILE_ARCHIVING_VARIABLE

pytestmark = pytest.mark.slow

CONFIG = "fixtures/configs/reliability.jsonnet"
CALLBACK = ["--include-package", "tests.support.signal_callback"]


def _train(run, check=True, recover=False, **env):
    args = ["train", CONFIG, "-s", str(run), *CALLBACK] + (["--recover"] if recover else [])
    return run_allennlp(args, env=cli_env(**env), check=check)


def test_ctrl_c_in_the_first_epoch_removes_the_run_dir(tmp_path):
    run = tmp_path / "run"
    result = _train(run, check=False, **{SIGNAL_VARIABLE: "SIGINT:1:2"})
    assert result.returncode != 0
    assert not run.exists() and f"removed {run}" in result.stderr
    assert "before its first checkpoint" in result.stderr


def test_double_ctrl_c_leaves_no_corrupt_archive_and_points_to_recover(tmp_path):
    run = tmp_path / "run"
    result = _train(
        run, check=False, **{SIGNAL_VARIABLE: "SIGINT:2:2", WHILE_ARCHIVING_VARIABLE: "1"}
    )
    assert result.returncode != 0
    assert "Attempting to create a model archive" in result.stdout + result.stderr  # 1st Ctrl-C
    assert not (run / "model.tar.gz").exists()  # the second stopped the write: no archive
    assert leftovers(run, patterns=(".model.*", "*.tmp")) == []
    assert "--recover" in result.stderr and (run / "best.th").exists()
    # The run resumes from its checkpoint and writes a whole archive.
    _train(run, recover=True)
    with tarfile.open(run / "model.tar.gz", "r:gz") as archive:
        assert "weights.th" in archive.getnames()


def test_kill_9_part_way_through_an_epoch_then_recover_matches_an_uninterrupted_run(tmp_path):
    plain, killed = tmp_path / "plain", tmp_path / "killed"
    _train(plain)
    result = _train(killed, check=False, **{SIGNAL_VARIABLE: "SIGKILL:2:3"})
    assert result.returncode == -9
    assert (killed / "metrics_epoch_0.json").exists()
    assert not (killed / "metrics_epoch_1.json").exists()  # killed inside epoch 2
    _train(killed, recover=True)
    plain_metrics = json.loads((plain / "metrics.json").read_text())
    killed_metrics = json.loads((killed / "metrics.json").read_text())
    assert killed_metrics["epoch"] == plain_metrics["epoch"] == 1
    assert killed_metrics["validation_average"] == pytest.approx(
        plain_metrics["validation_average"], abs=1e-5
    )
    plain_weights = torch.load(plain / "best.th", map_location="cpu")
    killed_weights = torch.load(killed / "best.th", map_location="cpu")
    assert plain_weights.keys() == killed_weights.keys()
    for name in plain_weights:
        assert torch.allclose(plain_weights[name], killed_weights[name], atol=1e-5), name
