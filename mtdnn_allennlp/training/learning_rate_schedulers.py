"""MT-DNN's schedule: linear warm-up over a fraction of all steps, then linear decay to zero.

allennlp's `linear_with_warmup` takes the warm-up as a number of steps, which a config cannot
know before the data is read; this takes it as a fraction of training.
"""

import torch
from allennlp.training.learning_rate_schedulers import LearningRateScheduler
from allennlp.training.learning_rate_schedulers.polynomial_decay import PolynomialDecay

from mtdnn_allennlp.common.registered_names import register


@register(
    LearningRateScheduler,
    "mtdnn_linear_with_warmup_fraction",
    deprecated_name="linear_with_warmup_fraction",
)
class LinearWithWarmupFraction(PolynomialDecay):
    """
    # Parameters

    optimizer : `torch.optim.Optimizer`
    num_epochs : `int`
        Passed by the trainer.
    num_steps_per_epoch : `int`
        Passed by the trainer.
    warmup_fraction : `float`, optional (default = `0.1`)
        Share of all optimizer steps spent warming up (MT-DNN's `--warmup`).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        num_epochs: int,
        num_steps_per_epoch: int,
        warmup_fraction: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        total = max(1, num_epochs * num_steps_per_epoch)
        super().__init__(
            optimizer,
            num_epochs,
            num_steps_per_epoch,
            power=1.0,
            warmup_steps=int(warmup_fraction * total),
            end_learning_rate=0.0,
            last_epoch=last_epoch,
        )
