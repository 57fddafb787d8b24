"""Student encoders for distillation: a shallower transformer and a BiLSTM over word pieces.

Both are `SharedEncoder`s, so every task head plugs in unchanged, and both keep the
`embed_words` / `forward(word_embeddings=...)` entry point that adversarial training uses.
"""

from typing import Any, Dict, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from transformers import AutoConfig, AutoModel

from mtdnn_allennlp.common.encoders import resolve_encoder
from mtdnn_allennlp.modules.shared_encoder import SharedEncoder, TransformerEncoder


def evenly_spaced_layers(total: int, keep: int) -> List[int]:
    """`keep` of `total` layers, spread out from the bottom: 6 -> 3 keeps [0, 2, 4]."""
    return [i * total // keep for i in range(keep)]


def _layer_list(model: torch.nn.Module, name: str) -> torch.nn.ModuleList:
    encoder = getattr(model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if not isinstance(layers, torch.nn.ModuleList):
        raise ConfigurationError(
            f"Encoder '{name}' ({type(model).__name__}) has no encoder.layer list to take layers "
            "from; use a BERT-style encoder (BERT, MiniLM, RoBERTa, ELECTRA) or "
            "initialise: 'config'."
        )
    return layers


@SharedEncoder.register("transformer_student")
class TransformerStudent(TransformerEncoder):
    """A transformer with fewer layers than its teacher's encoder.

    # Parameters

    model_name : `str`
        The teacher's encoder (a local folder or a name `resolve_encoder` knows): its config,
        embeddings and the chosen layers.
    num_layers : `int`, optional
        How many layers to keep, evenly spaced (6 -> 3 keeps layers 0, 2 and 4).
    layers : `List[int]`, optional
        Exactly which teacher layers to keep, in order (instead of `num_layers`).
    initialise : `str`, optional (default = `"teacher_layers"`)
        `"teacher_layers"` copies the embeddings and the chosen layers from the teacher's
        encoder; `"config"` builds a randomly initialised encoder from the teacher's config with
        `num_layers` layers and `config_overrides` (e.g. a smaller `hidden_size`).
    config_overrides : `Dict[str, Any]`, optional
        Values set on the transformers config.
    train_parameters : `bool`, optional (default = `True`)
    autocast_dtype : `str`, optional
        As for `transformer` (MTDNN_PRECISION=bf16 sets `"bfloat16"`).
    """

    def __init__(
        self,
        model_name: str,
        num_layers: Optional[int] = None,
        layers: Optional[List[int]] = None,
        initialise: str = "teacher_layers",
        config_overrides: Optional[Dict[str, Any]] = None,
        train_parameters: bool = True,
        autocast_dtype: Optional[str] = None,
    ) -> None:
        SharedEncoder.__init__(self)
        self.set_autocast_dtype(autocast_dtype)
        if initialise not in ("teacher_layers", "config"):
            raise ConfigurationError(
                f"initialise is '{initialise}'; use 'teacher_layers' or 'config'."
            )
        if (num_layers is None) == (layers is None):
            raise ConfigurationError("Give the student either num_layers or layers (not both).")
        folder = resolve_encoder(model_name)
        config = AutoConfig.from_pretrained(folder, **(config_overrides or {}))
        total = config.num_hidden_layers
        if layers is None:
            assert num_layers is not None
            if not 1 <= num_layers <= total:
                raise ConfigurationError(
                    f"num_layers is {num_layers}; the teacher '{model_name}' has {total} layers."
                )
            layers = evenly_spaced_layers(total, num_layers)
        bad = [index for index in layers if not 0 <= index < total]
        if bad or not layers:
            raise ConfigurationError(
                f"layers {layers}: the teacher '{model_name}' has layers 0 to {total - 1}."
            )
        self.kept_layers = list(layers)
        if initialise == "config":
            if layers != list(range(len(layers))):
                raise ConfigurationError("initialise: 'config' takes num_layers, not layers.")
            config.num_hidden_layers = len(layers)
            self.transformer = AutoModel.from_config(config)
        else:
            self.transformer = AutoModel.from_pretrained(folder, config=config)
            kept = [_layer_list(self.transformer, model_name)[index] for index in layers]
            self.transformer.encoder.layer = torch.nn.ModuleList(kept)
            self.transformer.config.num_hidden_layers = len(kept)
        if getattr(self.transformer, "pooler", None) is not None:
            self.transformer.pooler = None  # the heads have their own poolers
        for parameter in self.transformer.parameters():
            parameter.requires_grad = train_parameters


@SharedEncoder.register("bilstm")
class BiLstmEncoder(SharedEncoder):
    """A bidirectional LSTM over the teacher tokenizer's word pieces.

    The output at position 0 (where the heads read [CLS]) is a max-pool of the LSTM states over
    the example's pieces, so the classification and regression heads see the whole input; the
    other positions are the LSTM states, for tagging. The backward direction reads each example
    from its last real piece (padding is skipped, without packed sequences, which ONNX export
    does not support), so an example's output does not depend on its batch.

    # Parameters

    vocab_from : `str`
        The teacher's encoder (folder or name): its tokenizer's vocabulary is the student's.
    init_from_teacher : `bool`, optional (default = `True`)
        Copy the teacher's word-embedding matrix (then `embedding_dim` is the teacher's width).
    embedding_dim : `int`, optional
        Width of randomly initialised embeddings (default 128); must match the teacher's when
        `init_from_teacher` is on.
    lstm_size : `int`, optional (default = `256`)
        Hidden units per direction; the output width is twice this.
    num_layers : `int`, optional (default = `1`)
    dropout : `float`, optional (default = `0.1`)
        On the embeddings and between layers.
    train_embeddings : `bool`, optional (default = `True`)
    autocast_dtype : `str`, optional
        As for `transformer` (MTDNN_PRECISION=bf16 sets `"bfloat16"`).
    """

    def __init__(
        self,
        vocab_from: str,
        init_from_teacher: bool = True,
        embedding_dim: Optional[int] = None,
        lstm_size: int = 256,
        num_layers: int = 1,
        dropout: float = 0.1,
        train_embeddings: bool = True,
        autocast_dtype: Optional[str] = None,
    ) -> None:
        super().__init__()
        self.set_autocast_dtype(autocast_dtype)
        folder = resolve_encoder(vocab_from)
        config = AutoConfig.from_pretrained(folder)
        if init_from_teacher:
            teacher = AutoModel.from_pretrained(folder, config=config)
            weights = teacher.get_input_embeddings().weight.detach().clone()
            del teacher
            if embedding_dim is not None and embedding_dim != weights.size(1):
                raise ConfigurationError(
                    f"embedding_dim {embedding_dim} differs from the teacher's {weights.size(1)}"
                    "; leave it out, or set init_from_teacher: false."
                )
            self.embeddings = torch.nn.Embedding.from_pretrained(weights, freeze=False)
        else:
            self.embeddings = torch.nn.Embedding(config.vocab_size, embedding_dim or 128)
        self.embeddings.weight.requires_grad = train_embeddings
        width = self.embeddings.embedding_dim
        # Which text of a pair a piece belongs to, as in BERT's token types.
        self.type_embeddings = torch.nn.Embedding(2, width)
        torch.nn.init.zeros_(self.type_embeddings.weight)
        self.dropout = torch.nn.Dropout(dropout)
        self.forward_layers = torch.nn.ModuleList()
        self.backward_layers = torch.nn.ModuleList()
        for layer in range(num_layers):
            size = width if layer == 0 else 2 * lstm_size
            self.forward_layers.append(torch.nn.LSTM(size, lstm_size, batch_first=True))
            self.backward_layers.append(torch.nn.LSTM(size, lstm_size, batch_first=True))
        self._hidden_size = 2 * lstm_size

    @property
    def hidden_size(self) -> int:
        return self._hidden_size

    def embed_words(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.embeddings(token_ids)

    def forward(self, token_ids, mask, type_ids=None, word_embeddings=None):
        return self.under_autocast(
            lambda: self._encode(token_ids, mask, type_ids, word_embeddings), like=mask
        )

    def _encode(self, token_ids, mask, type_ids, word_embeddings):
        inputs = self.embed_words(token_ids) if word_embeddings is None else word_embeddings
        if type_ids is not None:
            inputs = inputs + self.type_embeddings(type_ids.clamp(0, 1))
        keep = mask.unsqueeze(-1).to(inputs.dtype)
        states = self.dropout(inputs) * keep
        # Per example, position t of the reversed sequence is position length-1-t; padding
        # positions map to themselves.
        positions = torch.arange(states.size(1), device=states.device).unsqueeze(0)
        lengths = mask.long().sum(-1, keepdim=True)
        flipped = lengths - 1 - positions
        reverse = torch.where(flipped >= 0, flipped, positions)
        for index, (forward_lstm, backward_lstm) in enumerate(
            zip(self.forward_layers, self.backward_layers, strict=True)
        ):
            if index > 0:
                states = self.dropout(states)
            forwards = _run_lstm(forward_lstm, states)
            backwards = _run_lstm(backward_lstm, _gather_positions(states, reverse))
            states = torch.cat([forwards, _gather_positions(backwards, reverse)], dim=-1) * keep
        # A large negative number rather than -inf keeps an all-padding row finite.
        pooled = states.masked_fill(keep == 0, -1e4).max(dim=1).values
        return torch.cat([pooled.unsqueeze(1), states[:, 1:]], dim=1)


def _run_lstm(lstm: torch.nn.LSTM, states: torch.Tensor) -> torch.Tensor:
    """The LSTM's outputs. On the CPU under autocast it runs in float32: oneDNN has no bfloat16
    LSTM kernel on CPUs without AVX-512 BF16 ("could not create a primitive descriptor for the
    LSTM forward propagation primitive"), and the LSTM is a small share of the student's time."""
    if states.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        with torch.autocast("cpu", enabled=False):
            return lstm(states.float())[0]
    return lstm(states)[0]


def _gather_positions(states: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    index = positions.unsqueeze(-1).expand(-1, -1, states.size(-1))
    return torch.gather(states, 1, index)
