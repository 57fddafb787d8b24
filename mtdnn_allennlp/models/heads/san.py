"""The stochastic answer network (SAN) head of MT-DNN (Liu et al. 2019, section 3; Liu et al.
2018, "Stochastic Answer Networks for Natural Language Inference").

Instead of classifying the [CLS] vector once, SAN reasons over K steps:

- memories: the encoder's vectors of the premise tokens, `M_p`, and of the hypothesis, `M_h`,
  told apart by the segment (token type) ids;
- initial state: a self-attention summary of the hypothesis,
  `s_0 = sum_j alpha_j M_h_j` with `alpha = softmax(w_1 . M_h_j)`;
- step t: bilinear attention of the state over the premise memory,
  `x_t = sum_j beta_j M_p_j` with `beta = softmax(s_{t-1} W_2 M_p_j)`, then a GRU cell,
  `s_t = GRU(x_t, s_{t-1})`, and a prediction
  `P_t = softmax(W_3 [s_t; x_t; |s_t - x_t|; s_t * x_t])`;
- stochastic prediction dropout in training: each step's prediction is dropped for an example
  with probability `step_dropout` (at least one step is always kept), and the kept steps'
  probabilities are averaged; at inference every step is averaged, so eval is deterministic.

The head returns the log of the averaged probabilities. Those are valid logits: their softmax
is the averaged distribution itself, so cross-entropy, metrics and predictions work unchanged.
"""

from typing import Any, Dict, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.nn.util import masked_softmax

from mtdnn_allennlp.models.heads.task_head import TaskHead
from mtdnn_allennlp.tasks import TaskDefinition

PROBABILITY_FLOOR = 1e-12  # log(0) would make the loss infinite on a confident wrong step


@TaskHead.register("san")
class SanHead(TaskHead):
    """
    # Parameters

    num_turns : `int`, optional (default = `5`)
        Reasoning steps K (MT-DNN's `answer_num_turn`).
    step_dropout : `float`, optional (default = `0.1`)
        Probability of dropping one step's prediction for one example in training (MT-DNN's
        `answer_mem_drop_p`).
    dropout : `float`, optional
        Dropout on the memories and on the state before each GRU step; defaults to the task
        definition's dropout.

    Memories come from `type_ids`: 0 marks the premise ([CLS] and the first [SEP] included), 1
    the hypothesis. An example without a hypothesis (a premise_only task, or no segment ids)
    uses its whole input as both memories.
    """

    def __init__(
        self,
        input_dim: int,
        task: TaskDefinition,
        num_turns: int = 5,
        step_dropout: float = 0.1,
        dropout: Optional[float] = None,
    ) -> None:
        super().__init__(input_dim, task)
        if task.task_type != "classification":
            raise ConfigurationError(
                f"Task '{task.name}': the san head predicts classes; its task_type is "
                f"'{task.task_type}'. Use it for classification tasks only."
            )
        if num_turns < 1:
            raise ConfigurationError(f"Task '{task.name}': san num_turns must be at least 1.")
        if not 0.0 <= step_dropout < 1.0:
            raise ConfigurationError(f"Task '{task.name}': san step_dropout must be in [0, 1).")
        self.num_turns = num_turns
        self.step_dropout = step_dropout
        self.dropout = torch.nn.Dropout(task.dropout if dropout is None else dropout)
        # w_1; no bias: a constant added to every score does not change the softmax.
        self.self_attention = torch.nn.Linear(input_dim, 1, bias=False)
        self.bilinear = torch.nn.Linear(input_dim, input_dim, bias=False)  # W_2
        self.rnn = torch.nn.GRUCell(input_dim, input_dim)
        self.classifier = torch.nn.Linear(4 * input_dim, task.n_class)  # W_3
        self._last_step_weights: Optional[torch.Tensor] = None

    def memories(
        self, mask: torch.Tensor, type_ids: Optional[torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The premise and hypothesis masks, `(batch, pieces)` each."""
        mask = mask.bool()
        if type_ids is None:
            return mask, mask
        hypothesis = mask & (type_ids == 1)
        premise = mask & (type_ids == 0)
        alone = ~hypothesis.any(-1, keepdim=True)  # no second text: the input is both
        return premise | (alone & mask), torch.where(alone, mask, hypothesis)

    def step_probabilities(
        self, encoded: torch.Tensor, mask: torch.Tensor, type_ids: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Each step's class probabilities, `(batch, num_turns, n_class)`."""
        premise_mask, hypothesis_mask = self.memories(mask, type_ids)
        memory = self.dropout(encoded)
        alpha = masked_softmax(self.self_attention(memory).squeeze(-1), hypothesis_mask)
        state = torch.bmm(alpha.unsqueeze(1), memory).squeeze(1)
        steps = []
        for _ in range(self.num_turns):
            scores = torch.bmm(memory, self.bilinear(state).unsqueeze(-1)).squeeze(-1)
            beta = masked_softmax(scores, premise_mask)
            attended = torch.bmm(beta.unsqueeze(1), memory).squeeze(1)
            state = self.rnn(attended, self.dropout(state))
            features = torch.cat(
                [state, attended, (state - attended).abs(), state * attended], dim=-1
            )
            steps.append(self.classifier(features).softmax(-1))
        return torch.stack(steps, dim=1)

    def replay_inputs(self) -> Dict[str, Any]:
        """The clean training pass's kept steps: adversarial training compares it with passes
        from perturbed embeddings, which must average the same steps, or the divergence would
        measure the step dropout rather than the perturbation."""
        weights = getattr(self, "_last_step_weights", None)
        return {} if weights is None else {"step_weights": weights}

    def step_weights(self, batch: int, device: torch.device) -> torch.Tensor:
        """Which steps' predictions count, `(batch, num_turns)`: all of them at inference, a
        random subset (never empty) per example in training."""
        if not self.training or self.step_dropout == 0.0:
            return torch.ones(batch, self.num_turns, device=device)
        keep = torch.rand(batch, self.num_turns, device=device) >= self.step_dropout
        rescue = torch.randint(self.num_turns, (batch,), device=device)
        keep[torch.arange(batch, device=device), rescue] |= ~keep.any(-1)
        return keep.float()

    def forward(self, encoded, mask, type_ids=None, step_weights: Optional[torch.Tensor] = None):
        """`step_weights`, when given, are used instead of drawing new ones (see
        `replay_inputs`)."""
        probabilities = self.step_probabilities(encoded, mask, type_ids)
        if step_weights is None:
            step_weights = self.step_weights(encoded.size(0), encoded.device)
        # Kept so that adversarial training's perturbed passes drop the same steps.
        self._last_step_weights = step_weights.detach() if self.training else None
        weights = step_weights.to(probabilities.dtype)
        averaged = (probabilities * weights.unsqueeze(-1)).sum(1) / weights.sum(1, keepdim=True)
        return averaged.clamp(min=PROBABILITY_FLOOR).log()
