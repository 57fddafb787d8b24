"""Adversarial training end to end through the stock `allennlp train`, including --recover."""

import json

import pytest
import torch

from tests.conftest import cli_env, run_allennlp
from tests.support.crash_callback import CRASH_VARIABLE

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
    include = ["--include-package", "tests.support.crash_callback"]
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


# --- every head, the distillation stage, distributed training ---------------------------------


def _train_smoke(tmp_path, config, *extra, env=None):
    output = tmp_path / "run"
    result = run_allennlp(
        ["train", config, "-s", str(output), *extra], env=env or cli_env(MTDNN_SMOKE="1")
    )
    return output, json.loads((output / "metrics.json").read_text()), result


@pytest.mark.parametrize(
    "config,metric",
    [
        ("qnli_ranking", "qnli_ranking_accuracy"),
        ("rte_san", "rte_accuracy"),
        ("squad_v1", "squad_v1_squad_f1"),
    ],
)
def test_each_head_trains_with_the_adversary_through_the_cli(tmp_path, config, metric):
    output, metrics, _ = _train_smoke(tmp_path, f"training_config/adversarial/{config}.jsonnet")
    assert metrics["training_adv_loss"] > 0 and metrics["training_adv_noise_norm"] > 0
    assert metrics["training_adv_clean_loss"] == pytest.approx(metrics["training_loss"])
    assert metrics["training_adv_skipped_batches"] == 0
    assert f"training_{metric}" in metrics  # the head's own metric, from its logits
    assert (output / "model.tar.gz").exists()


def test_distillation_student_trains_with_the_adversary_on_soft_targets(tmp_path):
    output, metrics, _ = _train_smoke(
        tmp_path, "training_config/adversarial/student_small_transformer.jsonnet"
    )
    config = json.loads((output / "config.json").read_text())
    assert config["dataset_reader"]["type"] == "mtdnn_distillation"
    assert config["dataset_reader"]["soft_targets"].endswith(
        "fixtures/distillation/glue4_soft_targets.jsonl"
    )
    assert config["model"]["encoder"]["type"] == "transformer_student"
    # The callback's clean term is the model's loss, i.e. the hard + soft KD loss.
    assert metrics["training_adv_clean_loss"] == pytest.approx(metrics["training_loss"])
    assert metrics["training_adv_loss"] > 0 and metrics["training_adv_noise_norm"] > 0
    assert metrics["training_adv_skipped_batches"] == 0


def test_distributed_workers_that_skip_differently_do_not_hang(tmp_path):
    """2 gloo workers; worker 1's divergence is NaN, so it skips the adversarial term on every
    batch while worker 0 keeps it. Training must finish (run_allennlp times out otherwise) and
    the statistics must be gathered over both workers."""
    output, metrics, _ = _train_smoke(
        tmp_path,
        "fixtures/configs/adversarial_distributed_nan.jsonnet",
        "--include-package",
        "tests.support.adversarial_nan_loss",
    )
    assert metrics["training_worker_1_memory_MB"] > 0  # both workers trained
    # The workers took different paths: only worker 1 skipped (each logs to its own file).
    skip = "non-finite adversarial gradient or loss"
    assert skip in (output / "out_worker1.log").read_text()
    assert skip not in (output / "out_worker0.log").read_text()
    # Written by worker 0, which never skipped: the count is worker 1's, summed in.
    assert metrics["training_adv_skipped_batches"] > 0
    assert metrics["training_adv_loss"] > 0  # worker 0's adversarial terms


# --- R3F ---------------------------------------------------------------------------------------


def test_r3f_config_trains_through_the_cli(trained_run):
    """adversarial/rte_r3f.jsonnet with `allennlp train`: the callback runs in R3F mode, logs
    its statistics, and the noise has R3F's scale (normal, sigma 1e-5: far below SMART's
    ball)."""
    output = trained_run("training_config/adversarial/rte_r3f.jsonnet", MTDNN_SMOKE="1")
    config = json.loads((output / "config.json").read_text())
    (callback,) = [c for c in config["trainer"]["callbacks"] if c.get("method")]
    assert callback == {
        "type": "mtdnn_adversarial_training",
        "method": "r3f",
        "adv_alpha": 1.0,
        "r3f_noise_type": "normal",
        "r3f_sigma": 1e-5,
        "bregman_mu": 0.0,
    }
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["training_adv_clean_loss"] == pytest.approx(metrics["training_loss"])
    assert metrics["training_adv_loss"] >= 0 and metrics["training_adv_skipped_batches"] == 0
    # The largest per-token inf norm of N(0, 1e-10) noise over a few hundred tokens x 32.
    assert 0 < metrics["training_adv_noise_norm"] < 1e-3
    assert "training_rte_accuracy" in metrics
    assert (output / "model.tar.gz").exists()
