"""Task heads: from the shared encoder's token vectors to one task's logits or scores.

A head is built from its task definition's `head` parameters, with the encoder's width and the
task definition passed in. It only maps vectors to outputs; the loss and metrics come from the
task definition, in the model.
"""

from typing import Any, Dict, List, Optional

import torch
from allennlp.common import Registrable
from allennlp.nn import Activation

from mtdnn_allennlp.losses import MASKED_SCORE
from mtdnn_allennlp.tasks import TaskDefinition


class TaskHead(torch.nn.Module, Registrable):
    """Called as `head(encoded, mask, type_ids=None)`: the encoder output `(batch, pieces,
    hidden)`, its mask `(batch, pieces)` and the segment ids (0 for the first text, 1 for the
    second), which heads that split premise from hypothesis use. A ranking head gets one row
    per candidate: `(batch, candidates, pieces, hidden)` and `(batch, candidates, pieces)`.
    """

    def __init__(self, input_dim: int, task: TaskDefinition) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.task = task

    def forward(
        self, encoded: torch.Tensor, mask: torch.Tensor, type_ids: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        raise NotImplementedError

    # Adversarial training runs the head again on perturbed inputs (see
    # `MultiTaskModel.perturbed_logits`); these two hooks make that pass comparable.

    def replay_inputs(self) -> Dict[str, Any]:
        """Keyword arguments that make another call of this head draw what the last training
        call drew (a head's own random choices); none by default."""
        return {}

    def output_mask(self, mask: torch.Tensor, **head_inputs: Any) -> torch.Tensor:
        """The positions whose outputs count when two passes are compared: every real piece by
        default (used by per-token outputs only)."""
        return mask


@TaskHead.register("classification")
class ClassificationHead(TaskHead):
    """The first ([CLS]) vector through a pooler (dense + activation), dropout, then a linear
    layer to the task's classes.

    # Parameters

    pooler_activation : `str`, optional (default = `"tanh"`)
        A registered allennlp Activation ("tanh", "relu", "gelu", "linear"...). The reference
        implementation meant to do this but always applied the identity.
    dropout : `float`, optional
        Defaults to the task definition's dropout.
    """

    def __init__(
        self,
        input_dim: int,
        task: TaskDefinition,
        pooler_activation: str = "tanh",
        dropout: Optional[float] = None,
    ) -> None:
        super().__init__(input_dim, task)
        self.pooler = torch.nn.Linear(input_dim, input_dim)
        self.activation = Activation.by_name(pooler_activation)()
        self.dropout = torch.nn.Dropout(task.dropout if dropout is None else dropout)
        self.output = torch.nn.Linear(input_dim, self.output_size())

    def output_size(self) -> int:
        return self.task.n_class

    def forward(self, encoded, mask, type_ids=None):
        pooled = self.activation(self.pooler(encoded[:, 0]))
        return self.output(self.dropout(pooled))


@TaskHead.register("regression")
class RegressionHead(ClassificationHead):
    """The classification head with a single output: the score, shaped (batch,). With the
    task's `target_scale` `[low, high]`, the output layer predicts on [0, 1] and the score is
    mapped back to `[low, high]` units (predictions, metrics and exports see real scores)."""

    def output_size(self) -> int:
        return 1

    def forward(self, encoded, mask, type_ids=None):
        score = super().forward(encoded, mask).squeeze(-1)
        if self.task.target_scale is not None:
            low, high = self.task.target_scale
            score = low + (high - low) * score
        return score


@TaskHead.register("sequence_labeling")
class SequenceLabelingHead(TaskHead):
    """Dropout and a linear layer on every token vector: (batch, pieces, n_class). Each word's
    tag is read at its first word piece.

    # Parameters

    dropout : `float`, optional
        Defaults to the task definition's dropout.
    constrained_decoding : `bool`, optional (default = `True`)
        Decode the most probable tag sequence that the tag scheme allows (Viterbi over the
        word-level tag probabilities, with allennlp's `allowed_transitions`), so that the output
        is always valid: no `I-X` after `O` or after `B-Y`. Off: each word's most probable tag,
        which can be invalid. Decoding only: training and the weights are the same either way.
    tag_scheme : `str`, optional
        `"BIO"` (IOB2), `"IOB1"`, `"BIOUL"` or `"BMES"` (allennlp's constraint types). By default
        `"BIO"` when every label is `O`, `B-...` or `I-...`; labels of no known scheme are decoded
        without constraints.
    """

    def __init__(
        self,
        input_dim: int,
        task: TaskDefinition,
        dropout: Optional[float] = None,
        constrained_decoding: bool = True,
        tag_scheme: Optional[str] = None,
    ):
        super().__init__(input_dim, task)
        self.dropout = torch.nn.Dropout(task.dropout if dropout is None else dropout)
        self.output = torch.nn.Linear(input_dim, task.n_class)
        labels = list(task.labels or [])
        self.tag_scheme = tag_scheme or infer_tag_scheme(labels)
        self.transitions: Optional[TagTransitions] = None
        if constrained_decoding and self.tag_scheme is not None:
            self.transitions = TagTransitions.of(self.tag_scheme, labels)

    def forward(self, encoded, mask, type_ids=None):
        return self.output(self.dropout(encoded))

    def word_tags(self, logits: torch.Tensor, metadata: List[Dict[str, Any]]) -> List[List[str]]:
        """Each word's tag from `(batch, pieces, n_class)` logits. A word that truncation left
        without a word piece (always at the end) is tagged `O`."""
        labels = self.task.labels or []
        logits = logits.detach().float().cpu()
        tags = []
        for row, each in enumerate(metadata):
            starts = [start for start in each["word_starts"] if start >= 0]
            scores = logits[row, starts].log_softmax(-1)
            if self.transitions is not None and starts:
                best = self.transitions.best_path(scores)
            else:
                best = scores.argmax(-1).tolist()
            tags.append(
                [labels[i] for i in best] + [OUTSIDE] * (len(each["word_starts"]) - len(starts))
            )
        return tags


OUTSIDE = "O"  # the tag of a word that truncation left without a word piece


def infer_tag_scheme(labels: List[str]) -> Optional[str]:
    if (
        labels
        and "O" in labels
        and all(label == "O" or label[:2] in ("B-", "I-") for label in labels)
    ):
        return "BIO"
    return None


class TagTransitions:
    """The tag transitions a scheme allows, as additive scores (0 allowed, `FORBIDDEN` not),
    and the best allowed path through per-word tag scores."""

    FORBIDDEN = -1e4

    def __init__(self, allowed: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> None:
        self.allowed, self.start, self.end = allowed, start, end

    @classmethod
    def of(cls, scheme: str, labels: List[str]) -> "TagTransitions":
        from allennlp.modules.conditional_random_field import allowed_transitions

        count = len(labels)
        pairs = allowed_transitions(scheme, dict(enumerate(labels)))
        scores = torch.full((count + 2, count + 2), cls.FORBIDDEN)
        for source, target in pairs:
            scores[source, target] = 0.0
        # allowed_transitions numbers START as `count` and END as `count + 1`.
        return cls(scores[:count, :count], scores[count, :count], scores[:count, count + 1])

    def best_path(self, scores: torch.Tensor) -> List[int]:
        from allennlp.nn.util import viterbi_decode

        path, _ = viterbi_decode(
            scores,
            self.allowed,
            allowed_start_transitions=self.start,
            allowed_end_transitions=self.end,
        )
        return path

    def as_lists(self) -> Dict[str, List]:
        """The matrices as JSON lists, for decoding outside PyTorch (the ONNX export)."""
        return {
            "allowed": self.allowed.tolist(),
            "start": self.start.tolist(),
            "end": self.end.tolist(),
        }


@TaskHead.register("ranking")
class RankingHead(ClassificationHead):
    """MT-DNN's pairwise ranking: each (premise, hypothesis) pair's [CLS] vector through the
    pooler to one score; the scores of one premise's candidates are its logits `(batch,
    candidates)`, so a softmax across them gives each candidate's probability. Padding
    candidates (examples with fewer candidates than the longest in the batch) get
    `MASKED_SCORE`, i.e. no probability.

    # Parameters

    pooler_activation : `str`, optional (default = `"tanh"`)
    dropout : `float`, optional
        Defaults to the task definition's dropout.
    """

    def output_size(self) -> int:
        return 1

    def forward(self, encoded, mask, type_ids=None):
        if encoded.dim() != 4:
            raise ValueError(
                "The ranking head takes one row per candidate, (batch, candidates, pieces, "
                f"hidden); got shape {tuple(encoded.shape)}. Is the task's data_format "
                "premise_and_multi_hypothesis?"
            )
        batch, candidates = encoded.shape[:2]
        flat = encoded.reshape(batch * candidates, *encoded.shape[2:])
        scores = self.pair_scores(flat).reshape(batch, candidates)
        present = mask.bool().any(-1)
        return scores.masked_fill(~present, MASKED_SCORE)

    def pair_scores(self, encoded: torch.Tensor) -> torch.Tensor:
        """One score per encoded (premise, candidate) pair: `(pairs, pieces, hidden)` to
        `(pairs,)`. The ONNX export runs this on a flat batch of pairs."""
        return super().forward(encoded, None).squeeze(-1)
