"""The ``transformers.AdamW`` signature, on top of ``torch.optim.AdamW``.

transformers removed its own AdamW (deprecated since 4.x, gone in 4.5x), but allennlp's
``huggingface_adamw`` optimizer subclasses it at import time. torch's AdamW implements the same
decoupled weight decay; the one behavioural difference is that torch decays the weights before
the Adam step and transformers did so after it, a second-order difference at the usual learning
rates. transformers' ``correct_bias=False`` (the original BERT recipe) has no torch equivalent, so
it is refused with a clear message instead of being silently ignored.
"""

from typing import Iterable, Tuple

import torch


class HuggingfaceAdamW(torch.optim.AdamW):
    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        correct_bias: bool = True,
        no_deprecation_warning: bool = False,
    ) -> None:
        if not correct_bias:
            raise ValueError(
                "huggingface_adamw with correct_bias=False is not available on this stack "
                "(transformers removed its AdamW). Use correct_bias=true, or the 'adamw' optimizer."
            )
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
