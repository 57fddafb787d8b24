"""A test-only trainer callback that simulates a crash, for the --recover test."""

import os

from allennlp.training.callbacks import TrainerCallback

CRASH_VARIABLE = "MTDNN_TEST_CRASH_IN_EPOCH"


class SimulatedCrash(RuntimeError):
    pass


@TrainerCallback.register("test_crash_in_epoch")
class CrashInEpoch(TrainerCallback):
    """Raises at the end of the epoch given by MTDNN_TEST_CRASH_IN_EPOCH (1-based), before that
    epoch's checkpoint is written; does nothing when the variable is unset."""

    def on_epoch(self, trainer, metrics, epoch, is_primary=True, **kwargs) -> None:
        crash_in = os.environ.get(CRASH_VARIABLE)
        if crash_in is not None and epoch + 1 == int(crash_in):
            raise SimulatedCrash(f"simulated crash in epoch {epoch + 1}")
