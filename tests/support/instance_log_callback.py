"""Test-only trainer callbacks: which examples each worker saw (distributed test), and the
weights a run starts from (multi-stage test)."""

import json
from pathlib import Path

import torch
from allennlp.training.callbacks import TrainerCallback


def worker_rank() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return 0


@TrainerCallback.register("test_log_instances")
class LogInstances(TrainerCallback):
    """Appends one JSON line per batch to `instances_rank{RANK}.jsonl` in the serialization
    directory: the epoch, training or validation, and the batch's (task, id, premise) keys."""

    def on_batch(
        self,
        trainer,
        batch_inputs,
        batch_outputs,
        batch_metrics,
        epoch,
        batch_number,
        is_training,
        is_primary=True,
        batch_grad_norm=None,
        **kwargs,
    ) -> None:
        path = Path(self.serialization_dir) / f"instances_rank{worker_rank()}.jsonl"
        with path.open("a", encoding="utf-8") as log:
            for batch in batch_inputs:
                keys = [[m["task"], m["id"], m["premise"]] for m in batch["metadata"]]
                record = {"epoch": epoch, "training": is_training, "keys": keys}
                log.write(json.dumps(record) + "\n")


@TrainerCallback.register("test_save_initial_weights")
class SaveInitialWeights(TrainerCallback):
    """Saves the model's weights as training starts, to `initial_weights.th`."""

    def on_start(self, trainer, is_primary=True, **kwargs) -> None:
        if is_primary:
            torch.save(
                trainer.model.state_dict(), Path(self.serialization_dir) / "initial_weights.th"
            )
