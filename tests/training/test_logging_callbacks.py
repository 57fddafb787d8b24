"""The experiments' console and TensorBoard callbacks, through a real `allennlp train`."""

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mtdnn_allennlp.training.logging_callbacks import epoch_summary
from tests.conftest import cli_env, run_allennlp


def test_epoch_summary_has_one_line_per_task_loss_first():
    metrics = {
        "training_rte_loss": 0.69,
        "training_rte_accuracy": 0.5,
        "validation_rte_accuracy": 0.625,
        "validation_rte_loss": 0.7,
        "training_stsb_pearson": 0.1,
        "training_loss": 1.2,
    }
    assert epoch_summary(["rte", "stsb"], metrics, 1) == [
        "epoch 1 rte | train loss 0.6900 accuracy 0.5000 | dev loss 0.7000 accuracy 0.6250",
        "epoch 1 stsb | train pearson 0.1000",
    ]


@pytest.mark.slow
def test_training_logs_task_lines_and_learning_rate_without_tensor_dumps(tmp_path):
    run = tmp_path / "run"
    result = run_allennlp(
        ["train", "training_config/glue/rte.jsonnet", "-s", str(run)],
        env=cli_env(MTDNN_EPOCHS="2"),
    )
    log = result.stdout + result.stderr
    # The loader's progress, with the count of instances read per task (64 train, 32 dev).
    assert "task rte: reading and tokenising: 64 instances" in log
    assert "task rte: reading and tokenising: 32 instances" in log
    # No dump of the first batch's fields (allennlp's console logger writes 'Field : ...').
    assert "Field : " not in log and "batch_input" not in log
    metrics = json.loads((run / "metrics.json").read_text())
    for epoch in (0, 1):
        line = f"epoch {epoch} rte | train loss "
        assert line in log
    last = [row for row in log.splitlines() if "epoch 1 rte | train loss" in row][0]
    assert f"dev loss {metrics['validation_rte_loss']:.4f}" in last
    # The learning rate of each parameter group, in TensorBoard (warm-up then linear decay).
    events = EventAccumulator(str(next((run / "log" / "train").glob("events.*"))))
    events.Reload()
    rates = [scalar.value for scalar in events.Scalars("learning_rate/group_0")]
    assert len(rates) >= 2 and max(rates) <= 5e-5 + 1e-12
    assert rates[-1] < max(rates)  # decaying by the end
