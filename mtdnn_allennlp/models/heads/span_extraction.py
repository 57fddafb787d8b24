"""The extractive-QA head: a start and an end logit per word piece, and span decoding."""

from typing import Any, Dict, List, Optional

import torch

from mtdnn_allennlp.metrics import Window
from mtdnn_allennlp.models.heads.task_head import TaskHead
from mtdnn_allennlp.tasks import TaskDefinition

MASKED = -1e4  # not -inf: a fully masked row must still give a finite cross-entropy


@TaskHead.register("span_extraction")
class SpanExtractionHead(TaskHead):
    """Dropout and a linear layer to two logits per word piece: `(batch, pieces, 2)`, start and
    end. Positions outside the context window (question, special tokens, padding) are masked,
    except [CLS], which stands for "no answer here".

    A question's answer is its best span over all windows of its context: the highest start +
    end logit with start <= end and at most `max_answer_length` pieces. With `no_answer`
    (SQuAD v2.0), the answer is empty when the lowest [CLS] score over the windows beats that
    span's score by more than `null_score_threshold`.

    # Parameters

    no_answer : `bool`, optional (default = `False`)
        Questions may have no answer (SQuAD v2.0).
    max_answer_length : `int`, optional (default = `30`)
        Longest predicted answer, in word pieces.
    null_score_threshold : `float`, optional (default = `0.0`)
    dropout : `float`, optional
        Defaults to the task definition's dropout.
    """

    def __init__(
        self,
        input_dim: int,
        task: TaskDefinition,
        no_answer: bool = False,
        max_answer_length: int = 30,
        null_score_threshold: float = 0.0,
        dropout: Optional[float] = None,
    ) -> None:
        super().__init__(input_dim, task)
        self.no_answer = no_answer
        self.max_answer_length = max_answer_length
        self.null_score_threshold = null_score_threshold
        self.dropout = torch.nn.Dropout(task.dropout if dropout is None else dropout)
        self.output = torch.nn.Linear(input_dim, 2)

    def forward(self, encoded, mask, type_ids=None, answer_mask: Optional[torch.Tensor] = None):
        logits = self.output(self.dropout(encoded))
        allowed = self.output_mask(mask, answer_mask=answer_mask)
        return logits.masked_fill(~allowed.unsqueeze(-1), MASKED)

    def output_mask(
        self, mask: torch.Tensor, answer_mask: Optional[torch.Tensor] = None, **head_inputs: Any
    ) -> torch.Tensor:
        """Where an answer may start or end: the context window and [CLS]."""
        return mask.bool() if answer_mask is None else answer_mask.bool() & mask.bool()

    def best_spans(self, logits: torch.Tensor, metadata: List[Dict[str, Any]]) -> List[Window]:
        """Per window: (question id, best span's score, its text, no-answer score or None)."""
        results = []
        logits = logits.detach().float().cpu()
        for row, each in enumerate(metadata):
            offsets = each["offsets"]
            in_context = torch.tensor([span is not None for span in offsets])
            length = len(offsets)
            start, end = logits[row, :length, 0], logits[row, :length, 1]
            scores = start[:, None] + end[None, :]
            positions = torch.arange(length)
            valid = (
                in_context[:, None]
                & in_context[None, :]
                & (positions[None, :] >= positions[:, None])
                & (positions[None, :] - positions[:, None] < self.max_answer_length)
            )
            # The threshold moves the no-answer score, so answers() compares with 0.
            null = float(start[0] + end[0]) - self.null_score_threshold
            null_score = null if self.no_answer else None
            if not valid.any():
                results.append((each["id"], float("-inf"), "", null_score))
                continue
            best = int(scores.masked_fill(~valid, float("-inf")).flatten().argmax())
            first, last = divmod(best, length)
            text = each["context"][offsets[first][0] : offsets[last][1]]
            results.append((each["id"], float(scores[first, last]), text, null_score))
        return results
