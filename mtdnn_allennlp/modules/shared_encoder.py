"""The encoder shared by all tasks, with an entry point after the word embeddings.

`embed_words` returns the word-embedding output alone, before position and token-type
embeddings and LayerNorm. `forward(..., word_embeddings=...)` runs the whole encoder from such a
tensor, so a perturbed copy (adversarial training) passes through position embeddings and
LayerNorm exactly once, unlike the reference implementation, which fed the full embedding output
back in and applied them twice.
"""

from typing import Any, Callable, Dict, Optional

import torch
from allennlp.common import Registrable
from allennlp.common.checks import ConfigurationError
from transformers import AutoConfig, AutoModel

from mtdnn_allennlp.common.encoders import resolve_encoder

ATTENTION_IMPLEMENTATIONS = ("sdpa", "eager")
AUTOCAST_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


class SharedEncoder(torch.nn.Module, Registrable):
    default_implementation = "transformer"

    # Set by `set_autocast_dtype` from an encoder's `autocast_dtype` argument (MTDNN_PRECISION=
    # bf16 passes "bfloat16"); None runs in float32.
    autocast_dtype: Optional[torch.dtype] = None

    def set_autocast_dtype(self, name: Optional[str]) -> None:
        if name is not None and name not in AUTOCAST_DTYPES:
            raise ConfigurationError(
                f"autocast_dtype '{name}' is not one of {sorted(AUTOCAST_DTYPES)} "
                "(or leave it unset to run in float32)."
            )
        self.autocast_dtype = AUTOCAST_DTYPES[name] if name else None

    def under_autocast(self, run: Callable[[], torch.Tensor], like: torch.Tensor) -> torch.Tensor:
        """`run()`, under autocast on the device type of `like` (the encoder's input, so the
        model's device) when an autocast dtype is set; the output is float32 for the heads."""
        if self.autocast_dtype is None:
            return run()
        with torch.autocast(device_type=like.device.type, dtype=self.autocast_dtype):
            encoded = run()
        return encoded.float()

    @property
    def hidden_size(self) -> int:
        raise NotImplementedError

    def embed_words(self, token_ids: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self,
        token_ids: torch.Tensor,
        mask: torch.Tensor,
        type_ids: Optional[torch.Tensor] = None,
        word_embeddings: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        raise NotImplementedError


@SharedEncoder.register("transformer")
class TransformerEncoder(SharedEncoder):
    """A pretrained transformers encoder (BERT, RoBERTa, DeBERTa, ELECTRA, MiniLM...).

    # Parameters

    model_name : `str`
        A local folder or a name `resolve_encoder` knows (never fetched from the network).
    train_parameters : `bool`, optional (default = `True`)
        False freezes the encoder.
    config_overrides : `Dict[str, Any]`, optional
        Values set on the transformers config before loading, e.g. `{"hidden_dropout_prob": 0}`.
    attn_implementation : `str`, optional
        transformers' attention kernel: `"sdpa"` (torch's scaled-dot-product attention) or
        `"eager"`. Unset, transformers picks (sdpa for BERT-like encoders in 4.57);
        benchmarks/train_throughput.py compares the two (see docs/performance.md).
    autocast_dtype : `str`, optional
        Run the encoder under `torch.autocast` with this dtype (`"bfloat16"` or `"float16"`);
        its output is cast back to float32 for the heads and losses. Off by default: on a CPU
        without native bf16 (no AVX512-BF16/AMX) it is slower, see docs/performance.md.
    """

    def __init__(
        self,
        model_name: str,
        train_parameters: bool = True,
        config_overrides: Optional[Dict[str, Any]] = None,
        attn_implementation: Optional[str] = None,
        autocast_dtype: Optional[str] = None,
    ) -> None:
        super().__init__()
        if attn_implementation not in (None, *ATTENTION_IMPLEMENTATIONS):
            raise ConfigurationError(
                f"attn_implementation '{attn_implementation}' is not one of "
                f"{list(ATTENTION_IMPLEMENTATIONS)} (or leave it unset for transformers' choice)."
            )
        self.set_autocast_dtype(autocast_dtype)
        self.tokenizer_name = model_name  # heads that predict word pieces read its tokenizer
        folder = resolve_encoder(model_name)
        config = AutoConfig.from_pretrained(folder, **(config_overrides or {}))
        loading: Dict[str, Any] = {"config": config}
        if attn_implementation is not None:
            loading["attn_implementation"] = attn_implementation
        self.transformer = AutoModel.from_pretrained(folder, **loading)
        if getattr(self.transformer, "pooler", None) is not None:
            # Each classification head has its own pooler; the pretrained one would be computed
            # on every batch and never used.
            self.transformer.pooler = None
        for parameter in self.transformer.parameters():
            parameter.requires_grad = train_parameters

    @property
    def hidden_size(self) -> int:
        return self.transformer.config.hidden_size

    def embed_words(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.transformer.get_input_embeddings()(token_ids)

    def _position_padding_idx(self) -> Optional[int]:
        """RoBERTa-style encoders (RoBERTa, XLM-R, CamemBERT...) number positions from their
        padding index on, skipping padding, when they read input ids; from word embeddings they
        would number every position, padding included. Returns that padding index, or None for
        encoders whose positions do not depend on padding (BERT, ELECTRA, DeBERTa)."""
        embeddings = getattr(self.transformer, "embeddings", None)
        if not hasattr(embeddings, "create_position_ids_from_inputs_embeds"):
            return None
        return getattr(embeddings, "padding_idx", None)

    def forward(self, token_ids, mask, type_ids=None, word_embeddings=None):
        inputs: Dict[str, Any] = {"attention_mask": mask.long()}
        if type_ids is not None and self.transformer.config.type_vocab_size > 1:
            inputs["token_type_ids"] = type_ids
        if word_embeddings is None:
            inputs["input_ids"] = token_ids
        else:
            inputs["inputs_embeds"] = word_embeddings
            padding_idx = self._position_padding_idx()
            if padding_idx is not None:
                inputs["position_ids"] = padded_position_ids(mask, padding_idx)
        return self.under_autocast(
            lambda: self.transformer(**inputs).last_hidden_state,
            like=token_ids if word_embeddings is None else word_embeddings,
        )


def padded_position_ids(mask: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """The position ids RoBERTa derives from input ids, derived from the mask instead (a piece
    is padding exactly when it is masked), so a pass from (perturbed) word embeddings, which has
    no input ids, sees the same positions as the clean pass: `padding_idx + 1, + 2, ...` for
    real pieces and `padding_idx` for padding."""
    real = mask.long()
    return real.cumsum(dim=1) * real + padding_idx
