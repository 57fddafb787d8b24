"""What a run shows while it trains: the console and TensorBoard callbacks of the experiments.

- `mtdnn_console_logger`: allennlp's console logger without its dump of the first batch's
  tensors (thousands of lines of token ids at the start of every run), plus one line per task
  at the end of each epoch with that task's training and validation metrics.
- `mtdnn_tensorboard`: allennlp's TensorBoard callback that also logs the learning rate, once
  per parameter group and batch (allennlp's own option logs it once per parameter, hundreds of
  curves that all say the same, and only every `summary_interval` batches).
"""

import logging
from typing import Any, Dict, List

from allennlp.training.callbacks import ConsoleLoggerCallback, TensorBoardCallback, TrainerCallback

from mtdnn_allennlp.common.run_metrics import prefixed_values

logger = logging.getLogger(__name__)


@TrainerCallback.register("mtdnn_console_logger")
class TaskSummaryConsoleLogger(ConsoleLoggerCallback):
    """
    # Parameters

    should_log_inputs : `bool`, optional (default = `False`)
        Log the first batch's tensors, as allennlp's console logger does by default.
    """

    def __init__(self, serialization_dir: str, should_log_inputs: bool = False) -> None:
        super().__init__(serialization_dir, should_log_inputs=should_log_inputs)

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary=True, **kwargs):
        super().on_epoch(trainer, metrics, epoch, is_primary=is_primary, **kwargs)
        if not is_primary or epoch < 0:
            return
        for line in epoch_summary(list(getattr(trainer.model, "tasks", {})), metrics, epoch):
            logger.info(line)


def epoch_summary(tasks: List[str], metrics: Dict[str, Any], epoch: int) -> List[str]:
    """One line per task: `epoch 2 rte | train loss 0.612 accuracy 0.688 | dev loss ...`."""
    lines = []
    for task in tasks:
        parts = [f"epoch {epoch} {task}"]
        for split, prefix in (("train", "training_"), ("dev", "validation_")):
            values = _task_values(metrics, f"{prefix}{task}_")
            if values:
                parts.append(f"{split} " + " ".join(f"{k} {v:.4f}" for k, v in values.items()))
        lines.append(" | ".join(parts))
    return lines


def _task_values(metrics: Dict[str, Any], prefix: str) -> Dict[str, float]:
    values = prefixed_values(metrics, prefix)
    # The loss first, the task's metrics after it in name order.
    return dict(sorted(values.items(), key=lambda item: (item[0] != "loss", item[0])))


@TrainerCallback.register("mtdnn_tensorboard")
class TensorBoardWithLearningRate(TensorBoardCallback):
    """allennlp's TensorBoard callback (same parameters), which also logs the learning rate of
    each optimizer parameter group as `learning_rate/group_<i>` after every training batch (a
    couple of scalars; allennlp's metrics keep their `summary_interval`).

    # Parameters

    log_learning_rate : `bool`, optional (default = `True`)
    """

    def __init__(self, serialization_dir: str, log_learning_rate: bool = True, **kwargs) -> None:
        super().__init__(serialization_dir, **kwargs)
        self.log_learning_rate = log_learning_rate

    def on_batch(self, trainer, *args, is_training: bool = True, is_primary: bool = True, **kw):
        super().on_batch(trainer, *args, is_training=is_training, is_primary=is_primary, **kw)
        if self.log_learning_rate and is_training and is_primary:
            groups = trainer.optimizer.param_groups
            rates = {f"group_{i}": group["lr"] for i, group in enumerate(groups) if "lr" in group}
            self.log_scalars(rates, log_prefix="learning_rate")
