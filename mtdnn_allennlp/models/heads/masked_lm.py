"""The masked-LM head: BERT-style dynamic masking, and word-piece logits tied to the encoder's
input embeddings."""

from typing import List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError

from mtdnn_allennlp.data.tokenization import load_tokenizer
from mtdnn_allennlp.losses import IGNORE_INDEX
from mtdnn_allennlp.models.heads.task_head import TaskHead
from mtdnn_allennlp.modules.shared_encoder import SharedEncoder
from mtdnn_allennlp.tasks import TaskDefinition


@TaskHead.register("masked_lm")
class MaskedLmHead(TaskHead):
    """BERT's prediction head: dense, GELU, LayerNorm, then a projection onto the word pieces
    whose weight is the encoder's input embedding matrix (tied), plus a bias.

    `corrupt` makes the targets: each word piece other than special tokens and padding is chosen
    with probability `mask_probability`; a chosen piece becomes the mask token with probability
    `replace_with_mask`, a random word piece with probability `replace_with_random`, and stays as
    it is otherwise (BERT's 15%, 80/10/10). Training draws new masks for every batch. Evaluation
    draws them from a generator reset to `eval_seed` on every batch, so the held-out loss of two
    checkpoints is measured on the same masks.

    # Parameters

    input_dim : `int`
    task : `TaskDefinition`
    encoder : `SharedEncoder`
        The model's encoder (passed in by the model): its input embeddings are the output layer,
        and its tokenizer gives the mask token and the special tokens.
    mask_probability : `float`, optional (default = `0.15`)
    replace_with_mask : `float`, optional (default = `0.8`)
    replace_with_random : `float`, optional (default = `0.1`)
    tie_weights : `bool`, optional (default = `True`)
        False gives the output layer its own weight matrix.
    eval_seed : `int`, optional (default = `1234`)
    """

    def __init__(
        self,
        input_dim: int,
        task: TaskDefinition,
        encoder: SharedEncoder,
        mask_probability: float = 0.15,
        replace_with_mask: float = 0.8,
        replace_with_random: float = 0.1,
        tie_weights: bool = True,
        eval_seed: int = 1234,
    ) -> None:
        super().__init__(input_dim, task)
        if not 0.0 < mask_probability < 1.0:
            raise ConfigurationError(f"Task '{task.name}': mask_probability must be in (0, 1).")
        if replace_with_mask < 0 or replace_with_random < 0:
            raise ConfigurationError(f"Task '{task.name}': replacement rates must be >= 0.")
        if replace_with_mask + replace_with_random > 1.0:
            raise ConfigurationError(
                f"Task '{task.name}': replace_with_mask + replace_with_random must be at most 1."
            )
        tokenizer_name = getattr(encoder, "tokenizer_name", None)
        embeddings = getattr(getattr(encoder, "transformer", None), "get_input_embeddings", None)
        if tokenizer_name is None or embeddings is None:
            raise ConfigurationError(
                f"Task '{task.name}': the masked_lm head needs a transformers encoder."
            )
        tokenizer = load_tokenizer(tokenizer_name)
        if tokenizer.mask_token_id is None:
            raise ConfigurationError(f"Task '{task.name}': the tokenizer has no mask token.")
        self.mask_token_id = tokenizer.mask_token_id
        self.special_ids: List[int] = sorted(set(tokenizer.all_special_ids))
        self.tokenizer_vocab_size = len(tokenizer)
        self.mask_probability = mask_probability
        self.replace_with_mask = replace_with_mask
        self.replace_with_random = replace_with_random
        self.eval_seed = eval_seed

        embedding = embeddings()
        vocab_size, width = embedding.weight.shape
        self.transform = torch.nn.Sequential(
            torch.nn.Linear(input_dim, width), torch.nn.GELU(), torch.nn.LayerNorm(width)
        )
        self.bias = torch.nn.Parameter(torch.zeros(vocab_size))
        # A plain list, not a submodule: the weight belongs to (and is saved with) the encoder.
        self._tied = [embedding] if tie_weights else []
        self.decoder: Optional[torch.nn.Linear] = (
            None if tie_weights else torch.nn.Linear(width, vocab_size, bias=False)
        )

    def output_weight(self) -> torch.Tensor:
        return self._tied[0].weight if self._tied else self.decoder.weight  # type: ignore

    def forward(self, encoded, mask, type_ids=None):
        hidden = self.transform(encoded)
        return torch.nn.functional.linear(hidden, self.output_weight(), self.bias)

    def corrupt(
        self, token_ids: torch.Tensor, mask: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The inputs with masks applied, and the targets: the original id at each chosen
        position, -100 elsewhere."""
        generator = None
        if not self.training:
            generator = torch.Generator(device=token_ids.device).manual_seed(self.eval_seed)

        def uniform() -> torch.Tensor:
            return torch.rand(token_ids.shape, generator=generator, device=token_ids.device)

        candidates = mask.bool() & ~torch.isin(
            token_ids, torch.tensor(self.special_ids, device=token_ids.device)
        )
        chosen = candidates & (uniform() < self.mask_probability)
        # Every row with something to predict predicts at least one piece, so short sentences
        # are not wasted and a batch never has an empty loss.
        nothing = candidates.any(-1) & ~chosen.any(-1)
        if nothing.any():
            scores = uniform().masked_fill(~candidates, -1.0)
            first = scores.argmax(-1)
            chosen[nothing, first[nothing]] = True
        targets = token_ids.masked_fill(~chosen, IGNORE_INDEX)
        draw = uniform()
        to_mask = chosen & (draw < self.replace_with_mask)
        to_random = chosen & ~to_mask & (draw < self.replace_with_mask + self.replace_with_random)
        inputs = token_ids.masked_fill(to_mask, self.mask_token_id)
        random_ids = torch.randint(
            self.tokenizer_vocab_size, token_ids.shape, generator=generator, device=token_ids.device
        )
        inputs = torch.where(to_random, random_ids, inputs)
        return inputs, targets
