"""The bare PyTorch + transformers training loop the package is measured against.

It imports torch and transformers only (no allennlp), so the memory benchmark's bare process
holds nothing the package's process would not also need.
"""

from typing import Any, Dict, List, Optional

import torch
from transformers import AutoModel

from mtdnn_allennlp.compat.adamw import fused_kwargs

IGNORE_INDEX = -100


class BareLoop:
    """The physical floor: transformers' AutoModel, one pooler + linear head per task (as the
    package's heads), AdamW (fused, as the package's), linear warmup, gradient clipping, on the
    given batches. `encoder` is a local transformers folder."""

    def __init__(
        self,
        tasks: List[Dict[str, Any]],
        batches: List[Dict[str, Any]],
        encoder: str,
        lr: float = 5e-5,
        attn_implementation: Optional[str] = None,
        fused_optimizer: bool = True,
    ) -> None:
        extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
        self.encoder = AutoModel.from_pretrained(encoder, **extra)
        self.encoder.pooler = None  # as the package: each head has its own pooler
        hidden = self.encoder.config.hidden_size
        self.kinds = {task["name"]: task["task_type"] for task in tasks}
        self.heads = torch.nn.ModuleDict()
        for task in tasks:
            outputs = len(task.get("labels") or [None])
            if task["task_type"] == "sequence_labeling":
                self.heads[task["name"]] = torch.nn.Sequential(
                    torch.nn.Dropout(0.1), torch.nn.Linear(hidden, outputs)
                )
            else:
                self.heads[task["name"]] = torch.nn.Sequential(
                    torch.nn.Linear(hidden, hidden),
                    torch.nn.Tanh(),
                    torch.nn.Dropout(0.1),
                    torch.nn.Linear(hidden, outputs),
                )
        self.parameters = list(self.encoder.parameters()) + list(self.heads.parameters())
        # The package's optimizer (compat.adamw) runs torch's fused AdamW kernel where there is
        # one; `fused_optimizer=False` is torch's default per-tensor loop, to measure that choice.
        fused = fused_kwargs(self.parameters) if fused_optimizer else {}
        self.optimizer = torch.optim.AdamW(self.parameters, lr=lr, weight_decay=0.01, **fused)
        steps = max(1, len(batches))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: min(1.0, (step + 1) / max(1, steps // 10))
        )
        self.batches = batches

    def step(self, batch: Dict[str, Any]) -> float:
        pieces = batch["tokens"]["tokens"]
        name = batch["task"][0]
        kind = self.kinds[name]
        encoded = self.encoder(
            input_ids=pieces["token_ids"],
            attention_mask=pieces["mask"].long(),
            token_type_ids=pieces["type_ids"],
        ).last_hidden_state
        if kind == "sequence_labeling":
            logits = self.heads[name](encoded)
            loss = torch.nn.functional.cross_entropy(
                logits.flatten(0, 1), batch["label"].flatten(), ignore_index=IGNORE_INDEX
            )
        elif kind == "regression":
            score = self.heads[name](encoded[:, 0]).squeeze(-1)
            loss = torch.nn.functional.mse_loss(score, batch["label"].float())
        else:
            logits = self.heads[name](encoded[:, 0])
            loss = torch.nn.functional.cross_entropy(logits, batch["label"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.parameters, 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item()

    def epoch(self) -> None:
        self.encoder.train()
        self.heads.train()
        for batch in self.batches:
            self.step(batch)


def tokenize_batch(tokenizer: Any, batch: List[Dict[str, Any]], max_length: int = 128) -> Any:
    """What a bare transformers user does with a batch of prediction inputs: one tokenizer call,
    padded to the batch's longest, pairs truncated longest-first."""
    second = [x["hypothesis"] for x in batch] if "hypothesis" in batch[0] else None
    return tokenizer(
        [x["premise"] for x in batch],
        second,
        padding=True,
        truncation="longest_first",
        max_length=max_length,
        return_tensors="pt",
    )
