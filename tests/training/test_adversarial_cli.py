"""Adversarial training end to end through the stock `allennlp train`, including --recover."""

import json

import pytest
import torch

from tests.conftest import cli_env, run_allennlp
from tests.crash_callback import CRASH_VARIABLE

pytestmark = pytest.mark.slow


def test_train_logs_the_adversarial_statistics_to_metrics_console_and_tensorboard(tmp_path):
    output = tmp_path / "run"
    result = run_allennlp(
        ["train", "training_config/adversarial/mtdnn.jsonnet", "-s", str(output)],
        env=cli_env(MTDNN_SMOKE="1"),
    )
    metrics = json.loads((output / "metrics.json").read_text())
    for key in ("adv_clean_loss", "adv_loss", "adv_noise_norm"):
        assert metrics[f"training_{key}"] > 0, key
        assert f"validation_{key}" not in metrics  # training statistics only
        assert key in result.stderr  # the console's metrics table
    assert metrics["training_adv_skipped_batches"] == 0
    # The noise is bounded by adv_epsilon (1.0) in the inf norm.
    assert metrics["training_adv_noise_norm"] <= 1.0
    events = b"".join(path.read_bytes() for path in output.rglob("events.out.tfevents.*"))
    assert b"adv_loss" in events and b"adv_noise_norm" in events


def test_a_bad_setting_fails_before_training(tmp_path):
    overrides = json.dumps(
        {"trainer": {"callbacks": [{"type": "adversarial_training", "adv_k": 0}]}}
    )
    result = run_allennlp(
        [
            "train",
            "training_config/adversarial/rte.jsonnet",
            "-s",
            str(tmp_path / "run"),
            "-o",
            overrides,
        ],
        env=cli_env(MTDNN_SMOKE="1"),
        check=False,
    )
    assert result.returncode != 0
    assert "adv_k must be an integer >= 1, got 0" in result.stderr
    assert "Epoch 0/" not in result.stderr


def test_recover_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    config = "fixtures/configs/adversarial_recover.jsonnet"
    include = ["--include-package", "tests.crash_callback"]
    plain, crashed = tmp_path / "plain", tmp_path / "crashed"
    run_allennlp(["train", config, "-s", str(plain), *include])
    result = run_allennlp(
        ["train", config, "-s", str(crashed), *include],
        env=cli_env(**{CRASH_VARIABLE: "2"}),
        check=False,
    )
    assert result.returncode != 0 and "simulated crash in epoch 2" in result.stderr
    run_allennlp(["train", config, "-s", str(crashed), "--recover", *include])

    plain_metrics = json.loads((plain / "metrics.json").read_text())
    recovered = json.loads((crashed / "metrics.json").read_text())
    assert recovered["epoch"] == plain_metrics["epoch"] == 2
    assert recovered["training_adv_bregman_loss"] > 0
    # The noise is seeded by the batch's position and the momentum teacher is checkpointed, so
    # the resumed run ends where the uninterrupted one does.
    assert recovered["training_adv_loss"] == pytest.approx(plain_metrics["training_adv_loss"])
    plain_weights = torch.load(plain / "best.th", map_location="cpu")
    recovered_weights = torch.load(crashed / "best.th", map_location="cpu")
    for name in plain_weights:
        assert torch.allclose(plain_weights[name], recovered_weights[name], atol=1e-5), name
    states = sorted(crashed.glob("training_state_*.th"))
    assert states, "no training state checkpoint"
    callback_states = torch.load(states[-1], map_location="cpu", weights_only=False)["callbacks"]
    assert any("teacher" in state for state in callback_states)
