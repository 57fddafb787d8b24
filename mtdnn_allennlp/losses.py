"""Registrable losses, named in a task definition's ``loss``, ``kd_loss`` and ``adv_loss``.

Every loss is called as ``loss(input, target, mask=None)`` and returns a scalar.
- Supervised losses take logits and gold targets (class indices, scores, or tag indices where
  -100 marks positions without a label).
- Divergences take two sets of logits over the same classes, shaped ``(..., n_class)``. They are
  computed per position over the last dimension and averaged over the positions that ``mask``
  keeps (per token for tagging). ``target`` is the reference (a teacher's, or the clean pass's).
A new loss is a subclass registered with ``@TaskLoss.register("name")``.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from allennlp.common import Registrable

IGNORE_INDEX = -100
# The score of a padding candidate in ranking: exp() of it is 0, yet it stays finite so that
# divergences (0 * log 0 terms) do not turn into NaN.
MASKED_SCORE = -1e4


class TaskLoss(torch.nn.Module, Registrable):
    def forward(
        self, input: torch.Tensor, target: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        raise NotImplementedError


@TaskLoss.register("cross_entropy")
class CrossEntropyLoss(TaskLoss):
    """Cross-entropy against class indices; also ranking (one score per candidate)."""

    def forward(self, input, target, mask=None):
        return F.cross_entropy(input, target.long())


@TaskLoss.register("ranking_cross_entropy")
class RankingCrossEntropyLoss(TaskLoss):
    """Cross-entropy of the softmax across one premise's candidates against the index of the
    right one (MT-DNN's pairwise ranking loss).

    `input` holds one score per candidate, `(batch, candidates)`; `mask` (same shape) marks the
    real candidates when examples have different numbers of them: padding gets no probability.
    """

    def forward(self, input, target, mask=None):
        scores = input.float()
        if mask is not None:
            scores = scores.masked_fill(~mask.bool(), MASKED_SCORE)
        return F.cross_entropy(scores, target.long())


@TaskLoss.register("sequence_cross_entropy")
class SequenceCrossEntropyLoss(TaskLoss):
    """Token-level cross-entropy; positions whose target is -100 carry no loss."""

    def forward(self, input, target, mask=None):
        target = target.long()
        if mask is not None:
            target = target.masked_fill(~mask.bool(), IGNORE_INDEX)
        return F.cross_entropy(
            input.reshape(-1, input.size(-1)), target.reshape(-1), ignore_index=IGNORE_INDEX
        )


@TaskLoss.register("mse")
class MeanSquaredErrorLoss(TaskLoss):
    """Mean squared error between scores (regression), or between two sets of logits."""

    def forward(self, input, target, mask=None):
        target = target.to(input.dtype).reshape(input.shape)
        if mask is None:
            return F.mse_loss(input, target)
        keep = mask.bool()
        return F.mse_loss(input[keep], target[keep])


class ScaledTargetLoss(TaskLoss):
    """A regression loss computed on scores mapped from `[low, high]` to `[0, 1]` (a task's
    `target_scale`): both the predictions and the targets, so a 1-5 score's squared error weighs
    like a probability's in a multi-task sum. Built by `TaskDefinition.build_loss`."""

    def __init__(self, loss: TaskLoss, low: float, high: float) -> None:
        super().__init__()
        self.loss = loss
        self.low = low
        self.span = high - low

    def forward(self, input, target, mask=None):
        return self.loss((input - self.low) / self.span, (target - self.low) / self.span, mask)


def _masked_mean(per_position: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    if mask is None:
        return per_position.mean()
    keep = mask.to(per_position.dtype)
    return (per_position * keep).sum() / keep.sum().clamp(min=1.0)


@TaskLoss.register("kl_divergence")
class KLDivergenceLoss(TaskLoss):
    """KL(target || input) over softmaxed logits; `temperature` softens both (Hinton et al.).

    Scaled by temperature**2 so that its gradients keep their size as the temperature changes.
    """

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, input, target, mask=None):
        t = self.temperature
        log_p = F.log_softmax(input.float() / t, dim=-1)
        log_q = F.log_softmax(target.float() / t, dim=-1)
        per_position = (log_q.exp() * (log_q - log_p)).sum(-1)
        return _masked_mean(per_position, mask) * t * t


@TaskLoss.register("span_kl_divergence")
class SpanKLDivergenceLoss(KLDivergenceLoss):
    """Extractive QA's kd_loss: `kl_divergence` (with its temperature) between the start
    distributions, softmax over positions, and between the end distributions, averaged.

    `input` and `target` are `(batch, pieces, 2)` start and end logits. Positions the target
    leaves out carry a masked score (so the target gives them no probability), and so do the
    positions the student's head masks.
    """

    def forward(self, input, target, mask=None):
        return super().forward(input.transpose(1, 2), target.transpose(1, 2))


@TaskLoss.register("symmetric_kl")
class SymmetricKLLoss(TaskLoss):
    """KL both ways, SMART's default adversarial divergence."""

    def forward(self, input, target, mask=None):
        log_p = F.log_softmax(input.float(), dim=-1)
        log_q = F.log_softmax(target.float(), dim=-1)
        per_position = ((log_q.exp() - log_p.exp()) * (log_q - log_p)).sum(-1)
        return _masked_mean(per_position, mask)


@TaskLoss.register("js_divergence")
class JensenShannonLoss(TaskLoss):
    def forward(self, input, target, mask=None):
        p = F.softmax(input.float(), dim=-1)
        q = F.softmax(target.float(), dim=-1)
        log_m = (0.5 * (p + q)).clamp(min=1e-12).log()
        kl_pm = (p * (p.clamp(min=1e-12).log() - log_m)).sum(-1)
        kl_qm = (q * (q.clamp(min=1e-12).log() - log_m)).sum(-1)
        return _masked_mean(0.5 * (kl_pm + kl_qm), mask)


@TaskLoss.register("hellinger")
class HellingerLoss(TaskLoss):
    """Squared Hellinger distance: half the squared L2 distance of the sqrt-probabilities."""

    def forward(self, input, target, mask=None):
        root_p = F.softmax(input.float(), dim=-1).sqrt()
        root_q = F.softmax(target.float(), dim=-1).sqrt()
        per_position = 0.5 * ((root_p - root_q) ** 2).sum(-1)
        return _masked_mean(per_position, mask)


@TaskLoss.register("span_cross_entropy")
class SpanCrossEntropyLoss(TaskLoss):
    """Extractive QA: the mean of the start and the end positions' cross-entropies.

    `input` is `(batch, pieces, 2)` start and end logits, `target` `(batch, 2)` positions.
    """

    def forward(self, input, target, mask=None):
        target = target.long()
        start = F.cross_entropy(input[..., 0].float(), target[:, 0])
        end = F.cross_entropy(input[..., 1].float(), target[:, 1])
        return (start + end) / 2


@TaskLoss.register("span_symmetric_kl")
class SpanSymmetricKLLoss(TaskLoss):
    """Extractive QA's adversarial divergence: symmetric KL between the start distributions
    (softmax over positions) and between the end distributions, averaged over the two and over
    the examples.

    `input` and `target` are `(batch, pieces, 2)` start and end logits; `mask` `(batch, pieces)`
    keeps the positions an answer may take. Masked positions are left out of both softmaxes
    and of the sum, so their logits do not count, whatever they are.
    """

    def forward(self, input, target, mask=None):
        # (batch, 2, pieces): one distribution over positions for the start, one for the end.
        p_logits = input.float().transpose(1, 2)
        q_logits = target.float().transpose(1, 2)
        keep = None
        if mask is not None:
            keep = mask.bool().unsqueeze(1)
            p_logits = p_logits.masked_fill(~keep, MASKED_SCORE)
            q_logits = q_logits.masked_fill(~keep, MASKED_SCORE)
        log_p = F.log_softmax(p_logits, dim=-1)
        log_q = F.log_softmax(q_logits, dim=-1)
        terms = (log_q.exp() - log_p.exp()) * (log_q - log_p)
        if keep is not None:
            terms = terms * keep.to(terms.dtype)
        return terms.sum(-1).mean()
