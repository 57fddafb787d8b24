"""The ``transformers.AdamW`` signature, on top of ``torch.optim.AdamW``.

transformers removed its own AdamW (deprecated since 4.x, gone in 4.5x), but allennlp's
``huggingface_adamw`` optimizer subclasses it at import time. torch's AdamW implements the same
decoupled weight decay; the one behavioural difference is that torch decays the weights before
the Adam step and transformers did so after it, a second-order difference at the usual learning
rates. transformers' ``correct_bias=False`` (the original BERT recipe) has no torch equivalent, so
it is refused with a clear message instead of being silently ignored.

The shim also picks torch's fused AdamW kernel where torch has one for the parameters' device
(CPU and CUDA). torch's default on CPU is a Python loop over the parameters, which took about a
third of a training step at batch 8 on MiniLM (docs/performance.md); the fused kernel does the
same update in one pass, several times faster. Allennlp's `huggingface_adamw` has no argument for
it, so it is chosen here, once, for every config.
"""

from typing import Any, Dict, Iterable, Tuple

import torch

FUSED_DEVICES = ("cpu", "cuda")


def fused_kwargs(params: Iterable) -> Dict[str, Any]:
    """`{"fused": True}` when torch's fused AdamW kernel can update all of `params` (plain
    tensors or allennlp's parameter groups), else `{}` (torch's default implementation)."""
    tensors = []
    for item in params:
        tensors.extend(item["params"] if isinstance(item, dict) else [item])
    usable = all(t.device.type in FUSED_DEVICES and t.is_floating_point() for t in tensors)
    return {"fused": True} if tensors and usable else {}


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
        params = list(params)
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            **fused_kwargs(params),
        )
