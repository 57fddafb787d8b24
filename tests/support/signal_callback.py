"""Test-only interruptions for the reliability suite: real signals at chosen moments.

MTDNN_TEST_SIGNAL="SIGINT:2:3" sends SIGINT to the training process itself after training
batch 3 of epoch 2 (both 1-based), as a user pressing Ctrl-C would; "SIGKILL:2:3" kills it
as `kill -9` would. MTDNN_TEST_SIGINT_WHILE_ARCHIVING=1 sends a second SIGINT while
model.tar.gz is being written: the double Ctrl-C.
"""

import os
import signal
import tarfile

from allennlp.training.callbacks import TrainerCallback

SIGNAL_VARIABLE = "MTDNN_TEST_SIGNAL"
WHILE_ARCHIVING_VARIABLE = "MTDNN_TEST_SIGINT_WHILE_ARCHIVING"


@TrainerCallback.register("test_signal")
class SignalInBatch(TrainerCallback):
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
        wanted = os.environ.get(SIGNAL_VARIABLE)
        if not wanted or not is_training:
            return
        name, at_epoch, at_batch = wanted.split(":")
        if (epoch + 1, batch_number) == (int(at_epoch), int(at_batch)):
            os.kill(os.getpid(), getattr(signal, name))


_original_add = tarfile.TarFile.add


def _add_then_interrupt(self, *args, **kwargs):
    _original_add(self, *args, **kwargs)
    if os.environ.pop(WHILE_ARCHIVING_VARIABLE, None):  # once, after the first member
        os.kill(os.getpid(), signal.SIGINT)


tarfile.TarFile.add = _add_then_interrupt  # type: ignore[method-assign]
